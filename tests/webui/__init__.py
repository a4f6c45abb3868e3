"""Tests of the web console: pure parts, and headless Chromium against a sandbox."""
