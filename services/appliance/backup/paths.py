"""Where the backup producer and the restore receiver keep their files, below the state root.

``var/lib/burrow/appliance-state.json``   the appliance's state (part of every backup)
``var/lib/burrow/backup-status.json``     status for people and the diag-shell (not backed up)
``var/lib/burrow/backup/peer.json``       the paired peer (part of every backup)
``var/lib/burrow/secrets/backup-credential``  the credential P gave at pairing (0600)
``var/lib/burrow/backup/changed``         touched by Central after each committed change
``var/lib/burrow/backup/outbox/``         snapshots waiting to be sent (not backed up)
``var/lib/burrow/backup/cache/``          chunks of the snapshots not yet sent and of the last
                                          one (delta bases) (not backed up)
``var/lib/burrow/backup/stat-cache.json`` size/mtime -> chunks of each file (not backed up)
``var/lib/burrow/backup/producer.json``   sequence number, last full and incremental (not
                                          backed up: it changes with every backup; a restore
                                          continues the sequence of the restored manifest)
``var/lib/burrow/backup/restore/``        a restore bundle being received and the restore's
                                          progress (not backed up)
``var/lib/burrow/backup/resume-full``     written by a restore: the next backup is full
"""

from __future__ import annotations

from pathlib import Path

from services.common.backup.files import (
    backup_dir,
    changed_file,
    peer_file,
    state_file,
    status_file,
)
from services.common.paths import StateRoot

__all__ = [
    "backup_dir",
    "changed_file",
    "peer_file",
    "state_file",
    "status_file",
]


def credential_file(root: StateRoot) -> Path:
    return root.secrets / "backup-credential"


def outbox_dir(root: StateRoot) -> Path:
    return backup_dir(root) / "outbox"


def cache_dir(root: StateRoot) -> Path:
    return backup_dir(root) / "cache"


def stat_cache_file(root: StateRoot) -> Path:
    return backup_dir(root) / "stat-cache.json"


def producer_file(root: StateRoot) -> Path:
    return backup_dir(root) / "producer.json"


def resume_full_file(root: StateRoot) -> Path:
    """Present after a restore: the producer's next backup is a full one."""
    return backup_dir(root) / "resume-full"


def restore_dir(root: StateRoot) -> Path:
    return backup_dir(root) / "restore"


#: Relative paths (below the root) never backed up: volatile or the producer's own work.
EXCLUDED = (
    "var/lib/burrow/backup/outbox",
    "var/lib/burrow/backup/cache",
    "var/lib/burrow/backup/restore",
    "var/lib/burrow/backup/stat-cache.json",
    "var/lib/burrow/backup/changed",
    "var/lib/burrow/backup/daemons-changed",
    "var/lib/burrow/backup/producer.json",
    "var/lib/burrow/backup/resume-full",
    "var/lib/burrow/backup/central.db.snapshot",
    "var/lib/burrow/backup-status.json",
    "var/lib/burrow/central.db",
    "var/lib/burrow/central.db-wal",
    "var/lib/burrow/central.db-shm",
    "var/lib/burrow/central.db-journal",
)
