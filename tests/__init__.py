"""Burrow's test suite: unit, integration (real daemons in namespaces), system and browser tests."""
