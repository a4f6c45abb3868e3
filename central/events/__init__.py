"""Service events: crashes and FATAL states recorded by the crash-listener."""
