"""dhcp-agent: drives Kea through its Control Agent (config, leases, statistics) for Central."""
