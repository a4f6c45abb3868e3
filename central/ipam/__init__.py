"""IP address management: blocks and ranges of the address space, properties, claims."""
