"""Service events: crashes and FATAL states (recorded by supervisord) and alerts (the monitor)."""
