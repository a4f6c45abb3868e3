"""The test harness: sandboxes, client namespaces and real-client helpers used by every suite."""
