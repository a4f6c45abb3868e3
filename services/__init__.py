"""Burrow's appliance-side programs: the agents, the diagnostic shell and what they share."""
