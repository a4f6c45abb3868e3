"""Migration from ISC DHCP: ``dhcpd.conf`` and ``dhcpd.leases`` read and translated for Kea.

``conf`` reads dhcpd.conf's grammar into statements, ``leases`` reads a lease file, and
``translate`` turns statements into Burrow's DHCP model (scopes, shared networks, classes,
options, option definitions) with everything it cannot carry over listed by line.
"""
