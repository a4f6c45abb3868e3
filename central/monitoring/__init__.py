"""Monitoring: SNMP and metrics settings, and the Prometheus ``/metrics`` of this appliance."""
