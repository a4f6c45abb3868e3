"""Backups at this Central (the peer P): pairing, the encrypted store, retention, detection
of replacements and the restore push (issue 7)."""
