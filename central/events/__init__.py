"""Service events: crashes and FATAL states (the crash-listener) and alerts (the monitor)."""
