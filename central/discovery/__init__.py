"""Discovery of the addresses in use: ping sweeps of ranges and the neighbour tables of
routers read over SNMP. ``python -m central.discovery`` runs either once and prints what it
found (see docs/ipam.md)."""
