"""appliance-agent: network settings, NTP/syslog/SNMP settings, backups and restore."""
