"""DNS management in Central: zones and records, kept in step with each server's dns-agent."""
