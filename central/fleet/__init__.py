"""A fleet: one Central manages the agents of several appliances (docs/fleet.md)."""
