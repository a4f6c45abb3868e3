"""The registry of managed DNS servers, DHCP servers and appliances, and agent enrolment."""
