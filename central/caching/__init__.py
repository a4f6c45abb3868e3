"""Caching DNS servers (Unbound on a caching appliance): settings, statistics, cache flushes."""
