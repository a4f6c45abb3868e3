"""The appliance-agent's ``/backup/*`` endpoints, called by its own Central over mTLS (4603).

``GET/PUT/DELETE /backup/peer``    show, pair (body: address, port, token, fingerprint), unpair
``GET /backup/status``             backup-status.json as it is now
``POST /backup/now``               ``{"kind": "full" | "incremental"}``: collect, then try to send
``GET /backup/snapshots``          this appliance's snapshots as the peer lists them
``GET /backup/snapshots/{id}/bundle``  one snapshot's bundle from the peer, streamed
``POST /backup/initialize``        "use as a new appliance": the state becomes ``active``

Bodies and answers are the models of ``services.common.appliance.contract``; errors are
problem JSON (services.common.problems): 409 when the appliance is not paired (or a restore
runs), 404 for a snapshot the peer does not have, 502 when the peer fails.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import StreamingResponse

from services.appliance.backup import pairing
from services.appliance.backup import state as appliance_state
from services.appliance.backup.peer import PeerError, problem_text
from services.appliance.backup.producer import Producer, load_peer, peer_client
from services.common import problems
from services.common.appliance.contract import (
    ApplianceState,
    BackupRequest,
    BackupResult,
    BackupStatus,
    PeerRequest,
    PeerView,
    SnapshotList,
    Unpaired,
)
from services.common.errors import BurrowError, ConflictError, NotFoundError

log = logging.getLogger(__name__)

SnapshotId = Annotated[int, Path(ge=1, le=2**62)]
BUNDLE: dict[int | str, dict[str, Any]] = {
    200: {"description": "the bundle", "content": {"application/octet-stream": {}}}
}


def _paired(root: Any) -> dict[str, Any]:
    peer = load_peer(root)
    if peer is None:
        raise ConflictError("This appliance is not paired with a backup peer.", field="peer")
    return peer


def backup_router(producer: Producer) -> APIRouter:
    root = producer.root
    router = APIRouter(prefix="/backup", tags=["backup"], responses=problems.RESPONSES)

    @router.get("/peer")
    def get_peer() -> PeerView:
        """The paired peer Central (``paired: false`` if none)."""
        peer = load_peer(root)
        return PeerView.model_validate({"paired": peer is not None, **(peer or {})})

    @router.put("/peer")
    def put_peer(body: PeerRequest) -> PeerView:
        """Pair with a peer Central: 422 names ``fingerprint`` (another certificate) or
        ``token`` (refused by the peer); 502 when the peer cannot be reached."""
        peer = pairing.pair(root, body.address, body.port, body.token, body.fingerprint)
        producer.request("full")
        producer.write_status()
        return PeerView.model_validate({"paired": True, **peer})

    @router.delete("/peer")
    def delete_peer() -> Unpaired:
        """Forget the peer (404 when there is none); what it stores stays there."""
        if load_peer(root) is None:
            raise NotFoundError("This appliance is not paired with a backup peer.", field="peer")
        before = pairing.unpair(root)
        producer.write_status()
        return Unpaired(was=PeerView.model_validate({"paired": True, **before}) if before else None)

    @router.get("/status")
    def status() -> BackupStatus:
        return BackupStatus.model_validate(producer.status())

    @router.post("/now")
    def back_up_now(body: BackupRequest) -> BackupResult:
        """Collect a snapshot and try to send it; 409 when the appliance is not paired."""
        _paired(root)
        collected = producer.collect(body.kind)
        error = None
        sent = 0
        try:
            sent = producer.send_pending()
        except Exception as exc:  # kept in the outbox; the producer retries
            error = str(exc)
            producer.last_error = error
            producer.write_status()
        return BackupResult(
            root=collected.root,
            kind=body.kind,
            sequence=collected.manifest["sequence"],
            created_at=collected.manifest["created_at"],
            size=collected.size,
            collect_seconds=round(collected.seconds, 4),
            sent=sent,
            sent_bytes=producer.last_sent_bytes if sent else 0,
            outbox=len(producer.outbox()),
            error=error,
        )

    @router.get("/snapshots")
    def snapshots() -> SnapshotList:
        """This appliance's snapshots as the peer lists them (none when not paired)."""
        peer = load_peer(root)
        if peer is None:
            return SnapshotList(paired=False, items=[])
        with peer_client(root, peer) as client:
            status, answer = client.json("GET", f"/api/v1/backup-store/{peer['peer_id']}/snapshots")
        if status != 200:
            raise PeerError(f"The peer answered HTTP {status}: {problem_text(answer)}")
        items = answer.get("items", answer) if isinstance(answer, dict) else answer
        return SnapshotList.model_validate({"paired": True, "items": items})

    @router.get(
        "/snapshots/{snapshot_id}/bundle", response_class=StreamingResponse, responses=BUNDLE
    )
    def bundle(snapshot_id: SnapshotId) -> StreamingResponse:
        """One snapshot's bundle from the peer, streamed; 404 when the peer has no such
        snapshot of this appliance."""
        peer = _paired(root)
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
            raise PeerError(message) from None
        if response.status != 200:
            data = response.read()
            client.close()
            if response.status == 404:
                raise NotFoundError(
                    f"The peer has no snapshot {snapshot_id} of this appliance.",
                    field="snapshot_id",
                )
            raise PeerError(f"The peer answered HTTP {response.status}: {data[:300]!r}")

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
    def initialize() -> ApplianceState:
        """Use as a new appliance: the state becomes ``active`` (409 while a restore runs)."""
        current = appliance_state.load(root)
        if current.state == "restoring":
            raise ConflictError("A restore is running on this appliance.", field="state")
        if current.state != "active":
            current = appliance_state.set_state(root, "active")
        producer.write_status()
        return ApplianceState(state=current.state, appliance_id=current.appliance_id)

    return router
