"""Central's view of its own appliance's network: ``/api/v1/appliance/network``."""
