"""Reads the crash-listener's records (one JSON object a line, newest last)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def read_events(
    path: Path, *, program: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """The newest ``limit`` events, newest first, optionally of one program."""
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError:
        return []
    events: list[dict[str, Any]] = []
    for line in reversed(lines):
        try:
            record = json.loads(line)
        except ValueError:
            continue  # a torn last line after a power cut is skipped, not fatal
        if program is not None and record.get("program") != program:
            continue
        events.append(record)
        if len(events) >= limit:
            break
    return events
