"""Files of the backup side of an appliance, shared by the appliance-agent and its Central.

Central reads status and peer files directly (they are on its own appliance) and touches
``changed`` after each committed change; everything else goes through the appliance-agent.
"""

from __future__ import annotations

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
    """Touched by Central after every committed change."""
    return backup_dir(root) / "changed"
