"""The rules behind ``/api/v1/appliance/*``: Central asks its own appliance-agent.

Pairing, backing up, listing and exporting go to the local appliance-agent over pinned
mutual TLS (``/backup/*`` there); the peer is only ever called by the agent. Status and the
peer are read from the appliance's files (``backup-status.json``, ``backup/peer.json``), so
they answer even while the agent is down. Every change is recorded in the history.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import ssl
from collections.abc import Iterator
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from central.core.config import CentralConfig
from central.core.deps import Principal
from central.history import service as history
from central.registry import agent_client
from central.registry.models import Server
from services.common.backup.files import peer_file, state_file, status_file
from services.common.errors import (
    BurrowError,
    ConflictError,
    DaemonError,
    NotFoundError,
    ValidationError,
)
from services.common.files import read_json
from services.common.pki import fingerprint_der

Comment = Annotated[str, Field(max_length=1000, description="save comment")]


class PeerPair(BaseModel):
    """Pair with a peer Central: its address and port, a pairing token made there, and the
    fingerprint of its certificate (``sha256:<hex>``, shown with the token)."""

    model_config = ConfigDict(extra="forbid", strict=True)
    address: str = Field(max_length=64, description="the peer's IPv4 address")
    port: int = Field(default=1231, ge=1, le=65535)
    token: str = Field(min_length=1, max_length=256)
    fingerprint: str = Field(min_length=64, max_length=200)
    comment: Comment = ""

    @field_validator("address")
    @classmethod
    def _ipv4(cls, value: str) -> str:
        try:
            return str(ipaddress.IPv4Address(value))
        except ValueError:
            raise ValueError("not an IPv4 address") from None


class BackupNow(BaseModel):
    """Back up now."""

    model_config = ConfigDict(extra="forbid", strict=True)
    kind: Literal["full", "incremental"] = "incremental"
    comment: Comment = ""


class InitializeRequest(BaseModel):
    """Use this appliance as a new one (it will accept no restore)."""

    model_config = ConfigDict(extra="forbid", strict=True)
    comment: Comment = ""


# --- the local appliance-agent ---------------------------------------------------------------
def _agent(db: Session) -> agent_client.AgentAddress:
    server = db.scalar(select(Server).where(Server.local.is_(True), Server.kind == "appliance"))
    if server is None or not server.fingerprint:
        raise DaemonError("This appliance's appliance-agent is not enrolled yet.")
    return agent_client.AgentAddress(server.address, server.port, server.fingerprint)


def _raise_for(status: int, answer: Any) -> None:
    detail = answer.get("detail") if isinstance(answer, dict) else answer
    field = answer.get("field") if isinstance(answer, dict) else None
    if status == 422:
        raise ValidationError(str(detail), field=field or "body")
    if status == 404:
        raise NotFoundError(str(detail), field=field)
    if status == 409:
        raise ConflictError(str(detail), field=field)
    raise DaemonError(f"The appliance-agent answered HTTP {status}: {detail}", field=field)


def _call(
    config: CentralConfig,
    db: Session,
    method: str,
    path: str,
    body: dict[str, Any] | None = None,
    timeout: float = 30.0,
) -> dict[str, Any]:
    data = json.dumps(body).encode() if body is not None else None
    try:
        status, answer = agent_client.call(
            config.root, _agent(db), method, path, data, timeout=timeout
        )
    except BurrowError:
        raise
    except OSError as exc:
        raise DaemonError(f"This appliance's appliance-agent cannot be reached: {exc}.") from None
    if status != 200 or not isinstance(answer, dict):
        _raise_for(status, answer)
    assert isinstance(answer, dict)
    return answer


# --- reading ---------------------------------------------------------------------------------
def _read(path: Any) -> dict[str, Any] | None:
    try:
        value = read_json(path)
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def peer(config: CentralConfig) -> dict[str, Any]:
    value = _read(peer_file(config.root))
    return {"paired": value is not None, **(value or {})}


def status(config: CentralConfig) -> dict[str, Any]:
    value = _read(status_file(config.root))
    if value is None:
        appliance = _read(state_file(config.root)) or {}
        value = {
            "peer": _read(peer_file(config.root)),
            "last_full": None,
            "last_incremental": None,
            "outbox": 0,
            "last_error": "the appliance-agent has not written its backup status yet",
            "state": appliance.get("state", "unknown"),
            "restore": {},
            "fingerprint": None,
            "restore_code": appliance.get("restore_code"),
        }
    return value


def backups(config: CentralConfig, db: Session) -> dict[str, Any]:
    if _read(peer_file(config.root)) is None:
        return {"paired": False, "items": [], "total": 0}
    answer = _call(config, db, "GET", "/backup/snapshots", timeout=30)
    items = list(answer.get("items") or [])
    return {"paired": True, "items": items, "total": len(items)}


# --- changes ---------------------------------------------------------------------------------
def pair(config: CentralConfig, db: Session, actor: Principal, body: PeerPair) -> dict[str, Any]:
    before = peer(config)
    request = body.model_dump(include={"address", "port", "token", "fingerprint"})
    answer = _call(config, db, "PUT", "/backup/peer", request, timeout=40)
    history.record(
        db, actor, "backup-peer", "peer", "pair",
        before=before if before["paired"] else None, after=answer, comment=body.comment,
    )  # fmt: skip
    db.commit()
    return answer


def unpair(config: CentralConfig, db: Session, actor: Principal, comment: str) -> None:
    before = peer(config)
    if not before["paired"]:
        raise NotFoundError("This appliance is not paired with a backup peer.", field="peer")
    _call(config, db, "DELETE", "/backup/peer")
    history.record(db, actor, "backup-peer", "peer", "unpair", before=before, comment=comment)
    db.commit()


def back_up_now(
    config: CentralConfig, db: Session, actor: Principal, body: BackupNow
) -> dict[str, Any]:
    if not peer(config)["paired"]:
        raise ConflictError("This appliance is not paired with a backup peer.", field="peer")
    answer = _call(config, db, "POST", "/backup/now", {"kind": body.kind}, timeout=300)
    history.record(
        db, actor, "backup", answer.get("sequence", "-"), "create",
        after={k: answer.get(k) for k in ("kind", "root", "sequence", "size", "sent", "error")},
        comment=body.comment,
    )  # fmt: skip
    db.commit()
    return answer


def initialize(
    config: CentralConfig, db: Session, actor: Principal, body: InitializeRequest
) -> dict[str, Any]:
    appliance = _read(state_file(config.root)) or {}
    if appliance.get("state") == "active":
        raise ConflictError("This appliance is already in use (active).", field="state")
    if appliance.get("state") == "restoring":
        raise ConflictError("A restore is running on this appliance.", field="state")
    answer = _call(config, db, "POST", "/backup/initialize")
    history.record(
        db, actor, "appliance", answer.get("appliance_id", "-"), "initialize",
        before={"state": appliance.get("state")}, after={"state": answer.get("state")},
        comment=body.comment,
    )  # fmt: skip
    db.commit()
    return {"state": answer.get("state"), "appliance_id": answer.get("appliance_id")}


def export(config: CentralConfig, db: Session, backup_id: int) -> Iterator[bytes]:
    """The bundle of snapshot ``backup_id`` from the peer, through the agent, streamed.

    Raises before the first byte when the agent or the peer refuses.
    """
    if _read(peer_file(config.root)) is None:
        raise ConflictError("This appliance is not paired with a backup peer.", field="peer")
    agent = _agent(db)
    context = ssl.create_default_context(cafile=str(config.root.pki / "ca/ca.crt"))
    context.load_cert_chain(
        str(config.root.pki / "central.crt"), str(config.root.pki / "central.key")
    )
    conn = http.client.HTTPSConnection(agent.address, agent.port, context=context, timeout=120)
    try:
        conn.connect()
        assert isinstance(conn.sock, ssl.SSLSocket)
        if fingerprint_der(conn.sock.getpeercert(binary_form=True) or b"") != agent.fingerprint:
            raise agent_client.PinMismatchError(
                "The appliance-agent showed a certificate other than the pinned one."
            )
        conn.request("GET", f"/backup/snapshots/{backup_id}/bundle")
        response = conn.getresponse()
        if response.status != 200:
            data = response.read()
            try:
                answer: Any = json.loads(data)
            except ValueError:
                answer = data.decode(errors="replace")
            if response.status == 404:
                raise NotFoundError(
                    f"There is no backup {backup_id} on the peer.", field="backup_id"
                )
            _raise_for(response.status, answer)
    except BaseException:
        conn.close()
        raise

    def stream() -> Iterator[bytes]:
        try:
            while True:
                piece = response.read(65536)
                if not piece:
                    return
                yield piece
        finally:
            conn.close()

    return stream()
