"""The shared DNS model: zones, records per type, validation and the Central ↔ dns-agent contract.

Used by the dns-agent (which drives BIND) and by Central (which stores and forwards); it knows
nothing about either. ``records`` holds one class per record type in a registry, ``names`` the
owner-name rules, ``validate`` the checks of a whole change against a zone, ``contract`` the
pydantic models that travel over the wire, ``options`` the server options of named.
"""
