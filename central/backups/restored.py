"""The history entry of a restore on the replacement itself.

The restore (``services.appliance.backup.apply``) leaves ``var/lib/burrow/backup/restored.json``
beside the restored database: the snapshot, its time and sequence, who approved it at the peer
and when, and the peer's address. Central records it at its next start, as ``system``, and
removes the file, so the replacement's history says from which backup it became what it is.
"""

from __future__ import annotations

import json
import logging

from sqlalchemy.orm import Session

from central.core.config import CentralConfig
from central.history.service import SYSTEM, record
from services.common.backup.files import restored_file

log = logging.getLogger(__name__)


def record_restore(db: Session, config: CentralConfig) -> bool:
    """Record the restore this appliance came from, once; True if there was one."""
    path = restored_file(config.root)
    try:
        origin = json.loads(path.read_text())
    except FileNotFoundError:
        return False
    except (OSError, ValueError) as exc:
        log.warning("%s is unreadable (%s); the restore is not in the history", path, exc)
        path.unlink(missing_ok=True)
        return False
    if not isinstance(origin, dict):
        origin = {}
    snapshot = origin.get("snapshot_id") or origin.get("sequence") or "?"
    parts = [f"restored from snapshot {snapshot}"]
    if origin.get("created_at"):
        parts.append(f"made {origin['created_at']}")
    if origin.get("restored_from"):
        parts.append(f"at the peer {origin['restored_from']}")
    if origin.get("approved_by"):
        parts.append(f"approved by {origin['approved_by']}")
    if origin.get("approved_at"):
        parts.append(f"at {origin['approved_at']}")
    record(db, SYSTEM, "appliance", "local", "restore", after=origin, comment=", ".join(parts))
    db.commit()
    path.unlink(missing_ok=True)
    log.info("%s", ", ".join(parts))
    return True
