"""dns-agent: drives BIND (zones, records, options, rndc, zone read-back) for Central."""
