"""The appliance-agent's ``/backup/*`` endpoints, called by its own Central over mTLS (4603).

``GET/PUT/DELETE /backup/peer``    show, pair (body: address, port, token, fingerprint), unpair
``GET /backup/status``             backup-status.json as it is now
``POST /backup/now``               ``{"kind": "full" | "incremental"}``: collect, then try to send
``GET /backup/snapshots``          this appliance's snapshots as the peer lists them
``GET /backup/snapshots/{id}/bundle``  one snapshot's bundle from the peer, streamed
``POST /backup/initialize``        "use as a new appliance": the state becomes ``active``

Errors answer ``{"detail": one sentence, "field": name or null}`` with the error's status;
Central turns them into problem JSON.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterator
from typing import Any, Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator

from services.appliance.backup import pairing
from services.appliance.backup import state as appliance_state
from services.appliance.backup.peer import PeerError, problem_text
from services.appliance.backup.producer import Producer, load_peer, peer_client
from services.common.errors import BurrowError

log = logging.getLogger(__name__)


class PeerRequest(BaseModel):
    """What pairing needs: P's address and port, its one-time token and its fingerprint."""

    model_config = ConfigDict(extra="forbid")
    address: str = Field(max_length=64)
    port: int = Field(default=1231, ge=1, le=65535)
    token: str = Field(min_length=1, max_length=256)
    fingerprint: str = Field(min_length=64, max_length=200)

    @field_validator("address")
    @classmethod
    def _ipv4(cls, value: str) -> str:
        try:
            return str(ipaddress.IPv4Address(value))
        except ValueError:
            raise ValueError("not an IPv4 address") from None


class BackupRequest(BaseModel):
    """Back up now."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["full", "incremental"] = "incremental"


def _error(exc: BurrowError) -> JSONResponse:
    return JSONResponse({"detail": exc.message, "field": exc.field}, status_code=exc.status)


def backup_router(producer: Producer) -> APIRouter:
    root = producer.root
    router = APIRouter(prefix="/backup")

    @router.get("/peer")
    def get_peer() -> dict[str, Any]:
        peer = load_peer(root)
        return {"paired": peer is not None, **(peer or {})}

    @router.put("/peer", response_model=None)
    def put_peer(body: PeerRequest) -> dict[str, Any] | JSONResponse:
        try:
            peer = pairing.pair(root, body.address, body.port, body.token, body.fingerprint)
        except BurrowError as exc:
            return _error(exc)
        producer.request("full")
        producer.write_status()
        return {"paired": True, **peer}

    @router.delete("/peer")
    def delete_peer() -> dict[str, Any]:
        before = pairing.unpair(root)
        producer.write_status()
        return {"paired": False, "was": before}

    @router.get("/status")
    def status() -> dict[str, Any]:
        return producer.status()

    @router.post("/now", response_model=None)
    def back_up_now(body: BackupRequest) -> dict[str, Any] | JSONResponse:
        if load_peer(root) is None:
            return _error(BurrowError("This appliance is not paired with a backup peer."))
        try:
            collected = producer.collect(body.kind)
        except BurrowError as exc:
            return _error(exc)
        error = None
        sent = 0
        try:
            sent = producer.send_pending()
        except Exception as exc:  # kept in the outbox; the producer retries
            error = str(exc)
            producer.last_error = error
            producer.write_status()
        return {
            "root": collected.root,
            "kind": body.kind,
            "sequence": collected.manifest["sequence"],
            "created_at": collected.manifest["created_at"],
            "size": collected.size,
            "collect_seconds": round(collected.seconds, 4),
            "sent": sent,
            "sent_bytes": producer.last_sent_bytes if sent else 0,
            "outbox": len(producer.outbox()),
            "error": error,
        }

    @router.get("/snapshots", response_model=None)
    def snapshots() -> dict[str, Any] | JSONResponse:
        peer = load_peer(root)
        if peer is None:
            return {"paired": False, "items": []}
        try:
            with peer_client(root, peer) as client:
                status, answer = client.json(
                    "GET", f"/api/v1/backup-store/{peer['peer_id']}/snapshots"
                )
        except BurrowError as exc:
            return _error(exc)
        if status != 200:
            return _error(PeerError(f"The peer answered HTTP {status}: {problem_text(answer)}"))
        items = answer.get("items", answer) if isinstance(answer, dict) else answer
        return {"paired": True, "items": items}

    @router.get("/snapshots/{snapshot_id}/bundle", response_model=None)
    def bundle(snapshot_id: int) -> StreamingResponse | JSONResponse:
        peer = load_peer(root)
        if peer is None:
            return _error(BurrowError("This appliance is not paired with a backup peer."))
        client = peer_client(root, peer)
        path = f"/api/v1/backup-store/{peer['peer_id']}/snapshots/{snapshot_id}/bundle"
        try:
            conn = client._connect()
            headers = {"Authorization": f"Backup {client.credential}"}
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
        except (BurrowError, OSError) as exc:
            client.close()
            message = exc.message if isinstance(exc, BurrowError) else str(exc)
            return _error(PeerError(message))
        if response.status != 200:
            data = response.read()
            client.close()
            status = 404 if response.status == 404 else 502
            return JSONResponse(
                {"detail": f"The peer answered HTTP {response.status}: {data[:300]!r}",
                 "field": "backup_id" if status == 404 else None},
                status_code=status,
            )  # fmt: skip

        def stream() -> Iterator[bytes]:
            try:
                while True:
                    piece = response.read(65536)
                    if not piece:
                        break
                    yield piece
            finally:
                client.close()

        return StreamingResponse(stream(), media_type="application/octet-stream")

    @router.post("/initialize")
    def initialize() -> dict[str, Any]:
        current = appliance_state.load(root)
        if current.state != "active":
            current = appliance_state.set_state(root, "active")
        producer.write_status()
        return current.as_dict() | {"restore_code": None}

    return router
