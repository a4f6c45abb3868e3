"""monitor: the appliance's SNMP agent, figure collector and notifications (docs/monitoring.md)."""
