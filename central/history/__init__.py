"""The history (audit trail): who changed which object, when, from what to what, and why."""
