"""Central's core: settings, the application factory, security and error mapping."""
