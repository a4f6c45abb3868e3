"""The dns-agent of a caching appliance: drives Unbound (settings, cache, counters)."""
