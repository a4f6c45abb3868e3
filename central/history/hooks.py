"""After each committed change, tell this appliance's backup producer (issue 7).

``record`` marks the session; when that session commits, ``after_commit`` touches
``var/lib/burrow/backup/changed`` (one ``utime``, microseconds). The producer in the
appliance-agent watches the file's mtime and starts an incremental backup within a second.
The hook never slows or fails a change: it runs after the commit and swallows every error.
A rolled-back transaction touches nothing.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

FLAG = "burrow_history_changed"
_target: list[Path] = []


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
        try:
            os.utime(path)
        except FileNotFoundError:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch(mode=0o600)
    except Exception as exc:  # a backup trigger must never fail a change
        log.warning("could not tell the backup producer about a change: %s", exc)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(FLAG, None)
