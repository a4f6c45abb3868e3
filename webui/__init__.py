"""The web console: server-rendered pages that talk only to Central's API."""
