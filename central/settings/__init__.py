"""Central's own settings (sync intervals, backup schedule, sessions), changed with history."""
