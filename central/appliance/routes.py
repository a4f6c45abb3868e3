"""``/api/v1/appliance/*``: this appliance's backups to a peer Central (issue 7).

``PUT/GET/DELETE /appliance/peer``        pair, show, unpair
``GET /appliance/backup-status``          backup-status.json (state, last backups, outbox)
``POST /appliance/backups``               back up now (``kind``: full | incremental)
``GET /appliance/backups``                this appliance's snapshots, as the peer lists them
``GET /appliance/backups/{backup_id}/export``  one snapshot's bundle (administrators only:
                                          it holds the appliance's keys)
``POST /appliance/initialize``            use as a new appliance (no restore will come)

Reading needs any role; changes and the export need the administrator role.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import StreamingResponse

from central.appliance import service
from central.appliance.service import BackupNow, BackupPage, InitializeRequest, PeerPair
from central.core.config import CentralConfig
from central.core.deps import Admin, CurrentUser, DbSession, DeleteComment
from central.core.problems import RESPONSES
from services.common.appliance.contract import (
    ApplianceState,
    BackupResult,
    BackupStatus,
    PeerView,
)

router = APIRouter(prefix="/api/v1/appliance", tags=["appliance backups"], responses=RESPONSES)
BackupId = Annotated[int, Path(ge=1, le=2**62)]
BUNDLE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "the bundle file",
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    },
    409: RESPONSES[422] | {"description": "This appliance is not paired"},
}


def _config(request: Request) -> CentralConfig:
    config: CentralConfig = request.app.state.config
    return config


@router.get("/peer")
def get_peer(request: Request, _user: CurrentUser) -> PeerView:
    """The peer Central this appliance sends its backups to (``paired: false`` if none)."""
    return service.peer(_config(request))


@router.put("/peer")
def pair_peer(request: Request, db: DbSession, admin: Admin, body: PeerPair) -> PeerView:
    """Pair with a peer Central (a pairing token made there, its certificate's fingerprint)."""
    return service.pair(_config(request), db, admin, body)


@router.delete("/peer", status_code=204)
def unpair_peer(request: Request, db: DbSession, admin: Admin, comment: DeleteComment) -> None:
    """Stop sending backups to the peer (what it stores stays there)."""
    service.unpair(_config(request), db, admin, comment)


@router.get("/backup-status")
def backup_status(request: Request, _user: CurrentUser) -> BackupStatus:
    """State, peer, last full and incremental backups, outbox, last error, restore code."""
    return service.status(_config(request))


@router.post("/backups", status_code=201)
def back_up_now(request: Request, db: DbSession, admin: Admin, body: BackupNow) -> BackupResult:
    """Back up now; the snapshot is sent at once, or waits in the outbox (``error`` says why)."""
    return service.back_up_now(_config(request), db, admin, body)


@router.get("/backups")
def list_backups(request: Request, db: DbSession, _user: CurrentUser) -> BackupPage:
    """This appliance's snapshots stored on the peer."""
    return service.backups(_config(request), db)


@router.get("/backups/{backup_id}/export", response_class=StreamingResponse, responses=BUNDLE)
def export_backup(
    request: Request, db: DbSession, _admin: Admin, backup_id: BackupId
) -> StreamingResponse:
    """One snapshot as a bundle file (for ``burrow-restore``)."""
    stream = service.export(_config(request), db, backup_id)
    return StreamingResponse(
        stream,
        media_type="application/octet-stream",
        headers={"Content-Disposition": f'attachment; filename="burrow-backup-{backup_id}.bin"'},
    )


@router.post("/initialize")
def initialize(
    request: Request, db: DbSession, admin: Admin, body: InitializeRequest
) -> ApplianceState:
    """Use this appliance as a new one: it becomes ``active`` and accepts no restore."""
    return service.initialize(_config(request), db, admin, body)
