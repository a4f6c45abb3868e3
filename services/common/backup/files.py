"""Files of the backup side of an appliance, shared by the appliance-agent and its Central.

Central reads status and peer files directly (they are on its own appliance) and touches
``changed`` after each committed change; the dns-agent and the dhcp-agent touch
``daemons-changed`` after each change they apply, whichever Central asked for it (on an
appliance in a fleet the managing Central's changes never pass through its own Central);
everything else goes through the appliance-agent.
"""

from __future__ import annotations

import os
from pathlib import Path

from services.common.paths import StateRoot


def state_file(root: StateRoot) -> Path:
    """appliance-state.json: state, appliance_id, restore_code."""
    return root.lib / "appliance-state.json"


def status_file(root: StateRoot) -> Path:
    """backup-status.json, written by the producer, read by Central and the diag-shell."""
    return root.lib / "backup-status.json"


def backup_dir(root: StateRoot) -> Path:
    return root.lib / "backup"


def peer_file(root: StateRoot) -> Path:
    """peer.json: the paired peer (address, port, fingerprint, peer_id)."""
    return backup_dir(root) / "peer.json"


def changed_file(root: StateRoot) -> Path:
    """Central appends one byte to it after every committed change: its size counts the
    changes, its modification time says when the last one was."""
    return backup_dir(root) / "changed"


def daemons_changed_file(root: StateRoot) -> Path:
    """The dns-agent and the dhcp-agent touch it after every change they apply to named or
    Kea: its modification time says when the last one was."""
    return backup_dir(root) / "daemons-changed"


def mark_daemons_changed(root: StateRoot) -> None:
    """Say that named's or Kea's state changed (the backup producer watches the file)."""
    path = daemons_changed_file(root)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
        os.utime(path)
    except OSError:  # a backup is also taken by the safety net; never fail a change for it
        pass


def change_count(root: StateRoot) -> int:
    """How many changes Central has committed (the size of ``changed``)."""
    try:
        return changed_file(root).stat().st_size
    except OSError:
        return 0


def restored_file(root: StateRoot) -> Path:
    """Written by a restore for this appliance's Central: which snapshot, from where, approved
    by whom and when. Central records it in its history at its next start and removes it."""
    return backup_dir(root) / "restored.json"


def central_hold_file(root: StateRoot) -> Path:
    """Present while a restore writes Central's files: a Central started then loads its code
    and waits (until the file is gone, or the time it holds, a Unix time, has passed) before it
    reads any of them (see services.appliance.backup.receiver, ``warm_central``)."""
    return root.run / "central-hold"
