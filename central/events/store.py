"""Reads supervisord's crash records (one JSON object a line, newest last).

``ServiceEvent`` is a record as the API shows it (``services.common.crash_records`` writes
them).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

#: What an event is: a program's unexpected exit or FATAL state (supervisord's crash records), or an
#: alert condition that started (the monitor program, services.monitor.notify).
EventKind = Literal[
    "crash", "fatal", "pool-threshold", "backup-overdue", "peer-unreachable",
    "certificate-expiring",
]  # fmt: skip


class ServiceEvent(BaseModel):
    """One unexpected exit (``crash``), FATAL state (``fatal``) or alert of the appliance."""

    model_config = ConfigDict(extra="allow")

    time: str = Field(description="ISO 8601, UTC")
    program: str = Field(description="the supervisord program, group:name for a group member")
    kind: EventKind
    pid: int = 0
    exit: str = Field(default="unknown", description="how it exited: 'terminated by SIGKILL'")
    restarts: int = Field(default=0, description="crashes of the program so far")
    subject: str | None = Field(default=None, description="an alert's scope, peer or certificate")
    message: str | None = Field(default=None, description="what an alert says")


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
        if not _well_formed(record):
            continue
        if program is not None and record.get("program") != program:
            continue
        events.append(record)
        if len(events) >= limit:
            break
    return events


def _well_formed(record: Any) -> bool:
    try:
        ServiceEvent.model_validate(record)
    except ValueError:
        return False
    return True
