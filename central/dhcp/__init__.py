"""DHCP management in Central: Kea servers of the registry, driven through their dhcp-agents."""
