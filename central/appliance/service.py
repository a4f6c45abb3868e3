"""The rules behind ``/api/v1/appliance/*``: Central asks its own appliance-agent.

Pairing, backing up, listing and exporting go to the local appliance-agent through the typed
``ApplianceAgentClient`` over pinned mutual TLS (``/backup/*`` there); the peer is only ever
called by the agent, and the agent's refusals come back with their status and problems.
Status and the peer are read from the appliance's files (``backup-status.json``,
``backup/peer.json``), so they answer even while the agent is down. Every change is recorded
in the history.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from central.appliance.agent import local_client
from central.core.config import CentralConfig
from central.core.deps import Principal
from central.history import service as history
from services.common.appliance.contract import (
    ApplianceState,
    BackupRequest,
    BackupResult,
    BackupStatus,
    PeerRequest,
    PeerView,
    Snapshot,
)
from services.common.backup.files import peer_file, state_file, status_file
from services.common.errors import ConflictError, NotFoundError
from services.common.files import read_json
from services.common.model import Input

Comment = Annotated[str, Field(max_length=1000, description="save comment")]


class PeerPair(PeerRequest):
    """Pair with a peer Central: its address and port, a pairing token made there, and the
    fingerprint of its certificate (``sha256:<hex>``, shown with the token)."""

    comment: Comment = ""


class BackupNow(BackupRequest):
    """Back up now."""

    comment: Comment = ""


class InitializeRequest(Input):
    """Use this appliance as a new one (it will accept no restore)."""

    comment: Comment = ""


class BackupPage(BaseModel):
    """This appliance's snapshots stored on the peer."""

    paired: bool
    items: list[Snapshot]
    total: int


# --- reading ---------------------------------------------------------------------------------
def _read(path: Any) -> dict[str, Any] | None:
    try:
        value = read_json(path)
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def peer(config: CentralConfig) -> PeerView:
    value = _read(peer_file(config.root))
    return PeerView.model_validate({"paired": value is not None, **(value or {})})


def status(config: CentralConfig) -> BackupStatus:
    value = _read(status_file(config.root))
    if value is None:
        appliance = _read(state_file(config.root)) or {}
        value = {
            "peer": _read(peer_file(config.root)),
            "last_error": "the appliance-agent has not written its backup status yet",
            "state": appliance.get("state", "unknown"),
            "restore_code": appliance.get("restore_code"),
        }
    return BackupStatus.model_validate(value)


def backups(config: CentralConfig, db: Session) -> BackupPage:
    if _read(peer_file(config.root)) is None:
        return BackupPage(paired=False, items=[], total=0)
    with local_client(db, config) as agent:
        answer = agent.snapshots()
    return BackupPage(paired=answer.paired, items=answer.items, total=len(answer.items))


# --- changes ---------------------------------------------------------------------------------
def pair(config: CentralConfig, db: Session, actor: Principal, body: PeerPair) -> PeerView:
    before = peer(config)
    request = PeerRequest.model_validate(body.model_dump(exclude={"comment"}))
    with local_client(db, config) as agent:
        answer = agent.pair(request)
    history.record(
        db, actor, "backup-peer", "peer", "pair",
        before=before.model_dump(mode="json") if before.paired else None,
        after=answer.model_dump(mode="json"),
        comment=body.comment,
    )  # fmt: skip
    db.commit()
    return answer


def unpair(config: CentralConfig, db: Session, actor: Principal, comment: str) -> None:
    before = peer(config)
    if not before.paired:
        raise NotFoundError("This appliance is not paired with a backup peer.", field="peer")
    with local_client(db, config) as agent:
        agent.unpair()
    history.record(
        db,
        actor,
        "backup-peer",
        "peer",
        "unpair",
        before=before.model_dump(mode="json"),
        comment=comment,
    )
    db.commit()


def back_up_now(
    config: CentralConfig, db: Session, actor: Principal, body: BackupNow
) -> BackupResult:
    if not peer(config).paired:
        raise ConflictError("This appliance is not paired with a backup peer.", field="peer")
    with local_client(db, config) as agent:
        answer = agent.back_up_now(BackupRequest(kind=body.kind))
    history.record(
        db, actor, "backup", answer.sequence, "create",
        after=answer.model_dump(include={"kind", "root", "sequence", "size", "sent", "error"}),
        comment=body.comment,
    )  # fmt: skip
    db.commit()
    return answer


def initialize(
    config: CentralConfig, db: Session, actor: Principal, body: InitializeRequest
) -> ApplianceState:
    appliance = _read(state_file(config.root)) or {}
    if appliance.get("state") == "active":
        raise ConflictError("This appliance is already in use (active).", field="state")
    if appliance.get("state") == "restoring":
        raise ConflictError("A restore is running on this appliance.", field="state")
    with local_client(db, config) as agent:
        answer = agent.initialize()
    history.record(
        db, actor, "appliance", answer.appliance_id, "initialize",
        before={"state": appliance.get("state")}, after={"state": answer.state},
        comment=body.comment,
    )  # fmt: skip
    db.commit()
    return answer


def export(config: CentralConfig, db: Session, backup_id: int) -> Iterator[bytes]:
    """The bundle of snapshot ``backup_id`` from the peer, through the agent, streamed.

    Raises before the first byte when the agent or the peer refuses.
    """
    if _read(peer_file(config.root)) is None:
        raise ConflictError("This appliance is not paired with a backup peer.", field="peer")
    agent = local_client(db, config)
    try:
        return agent.bundle(backup_id)
    except NotFoundError as exc:
        # The agent names its own path parameter; this API calls it backup_id.
        raise NotFoundError(f"There is no backup {backup_id} on the peer.", field="backup_id",
                            hint=exc.message) from None  # fmt: skip
