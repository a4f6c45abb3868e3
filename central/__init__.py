"""Central: Burrow's management server (REST API, users and roles, history, backups store)."""
