"""After each committed change, tell this appliance's backup producer.

``record`` marks the session; when that session commits, ``after_commit`` appends one byte to
``var/lib/burrow/backup/changed`` (microseconds): its size counts the changes, its mtime
changes. The producer in the appliance-agent watches it and starts an incremental backup
within a second; a snapshot stored at the peer says how many changes it holds, so Central can
tell whether a change is safe at the peer (``central.core.backup_ack``). The count this
commit reached is handed to the request that made it (``CHANGE``). The hook never slows or
fails a change: it runs after the commit and swallows every error. A rolled-back transaction
touches nothing.
"""

from __future__ import annotations

import logging
import os
from contextvars import ContextVar
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

FLAG = "burrow_history_changed"
_target: list[Path] = []

#: Set by the request that may change something (``central.core.backup_ack``): the hook puts
#: the change count its commit reached in it.
CHANGE: ContextVar[dict[str, int] | None] = ContextVar("burrow_change", default=None)


def install(changed_file: Path) -> None:
    """Touch ``changed_file`` after every commit that recorded a change."""
    _target[:] = [changed_file]


def mark(session: Session) -> None:
    """Called by ``history.service.record``: this transaction holds a change."""
    session.info[FLAG] = True


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if not session.info.pop(FLAG, False) or not _target:
        return
    path = _target[0]
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, b".")
            count = os.fstat(fd).st_size
        finally:
            os.close(fd)
        holder = CHANGE.get()
        if holder is not None:
            holder["count"] = max(count, holder.get("count", 0))
    except Exception as exc:  # a backup trigger must never fail a change
        log.warning("could not tell the backup producer about a change: %s", exc)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(FLAG, None)
