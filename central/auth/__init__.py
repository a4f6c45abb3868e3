"""Users, roles, sessions and API tokens."""
