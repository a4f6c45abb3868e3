"""Integration tests of DHCP management: the dhcp-agent driving real Kea in a sandbox."""
