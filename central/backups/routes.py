"""``/api/v1/backup-peers`` (administrators), ``/api/v1/backup-store`` (paired peers) and
``/api/v1/replacements`` (administrators).

The store endpoints authenticate a *peer*, never a user: ``Authorization: Backup
<credential>`` as returned by the pairing; a user's bearer token gets 401 there. A peer's
credential opens only its own store (another peer's id: 403).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Request, Response
from fastapi.responses import FileResponse
from sqlalchemy.orm import Session
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from central.backups import detect, replace, service
from central.backups.bundle import write_bundle
from central.backups.models import BackupPeer
from central.backups.schemas import (
    ApproveRequest,
    BackupPeerDetail,
    BackupPeerListed,
    BackupPeerPublic,
    DismissRequest,
    MissingChunks,
    MissingRequest,
    Paired,
    PairingTokenIssued,
    PairingTokenRequest,
    PairRequest,
    ReplacementPublic,
    SnapshotCreate,
    SnapshotPublic,
)
from central.backups.store import MAX_CHUNK, ChunkStore, check_hash, store_for
from central.core.deps import Admin, CurrentUser, DbSession, DeleteComment
from central.core.listing import Page
from central.core.problems import RESPONSES
from services.common.errors import ForbiddenError, UnauthenticatedError, ValidationError
from services.common.problems import documented

router = APIRouter(prefix="/api/v1", responses=RESPONSES)

PeerId = Annotated[int, Path(ge=1, le=2**31 - 1)]
SnapshotId = Annotated[int, Path(ge=1, le=2**31 - 1)]
ReplacementId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def chunk_store(request: Request) -> ChunkStore:
    return store_for(request.app.state.config.root)


Store = Annotated[ChunkStore, Depends(chunk_store)]


def current_peer(request: Request, db: DbSession, peer_id: PeerId) -> BackupPeer:
    """The peer named by ``Authorization: Backup <credential>``, or 401 / 403."""
    scheme, _, credential = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "backup" or not credential.strip():
        raise UnauthenticatedError(
            "The backup store needs a peer credential: Authorization: Backup <credential>.",
            headers={"WWW-Authenticate": "Backup"},
        )
    peer = service.peer_by_credential(db, credential.strip())
    if peer is None:
        raise UnauthenticatedError(
            "The backup credential is not known (revoked, or the peer paired again).",
            headers={"WWW-Authenticate": "Backup"},
        )
    if peer.id != peer_id:
        raise ForbiddenError("This credential is for another peer's store.", field="peer_id")
    return peer


Peer = Annotated[BackupPeer, Depends(current_peer)]

BUNDLE_MEDIA_TYPE = "application/octet-stream"
#: The answer of the bundle downloads: a file, described by its media type.
BUNDLE_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The snapshot as a bundle file (services.common.backup.bundle)",
        "content": {BUNDLE_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}},
    },
    409: documented("A stored chunk fails its check (damaged or tampered with at rest)"),
}


# --- administrators: pairing and peers ----------------------------------------------------
@router.post("/backup-peers/pairing-tokens", tags=["backups"], status_code=201)
def pairing_token(
    request: Request, db: DbSession, admin: Admin, body: PairingTokenRequest
) -> PairingTokenIssued:
    """A one-time token (15 minutes) for the appliance at ``address`` to pair with this
    Central, and this Central's certificate fingerprint for it to pin."""
    return service.issue_pairing_token(db, request.app.state.config, admin, body)


@router.post("/backup-peers/pair", tags=["backups"])
def pair(request: Request, db: DbSession, store: Store, body: PairRequest) -> Paired:
    """An appliance's agent trades its pairing token for a store credential (no user token:
    the pairing token is the authentication; it must come from the token's address)."""
    caller = request.client.host if request.client else ""
    return service.pair(db, request.app.state.config, store, caller, body)


@router.get("/backup-peers", tags=["backups"])
def list_peers(db: DbSession, _user: CurrentUser) -> Page[BackupPeerListed]:
    """Paired appliances with their reachability and latest snapshot."""
    return Page[BackupPeerListed].whole(service.list_peers(db))


@router.get("/backup-peers/{peer_id}", tags=["backups"])
def get_peer(db: DbSession, store: Store, _user: CurrentUser, peer_id: PeerId) -> BackupPeerDetail:
    """One paired appliance with its snapshot count and the bytes its chunks take."""
    return service.peer_detail(db, store, service.get_peer(db, peer_id))


@router.delete("/backup-peers/{peer_id}", tags=["backups"], status_code=204)
def delete_peer(
    db: DbSession, store: Store, admin: Admin, peer_id: PeerId, comment: DeleteComment
) -> Response:
    """Unpair: the peer's credential stops working and its stored backups are removed."""
    service.delete_peer(db, store, admin, peer_id, comment)
    return Response(status_code=204)


@router.post("/backup-peers/{peer_id}/check", tags=["backups"])
def check_peer(request: Request, db: DbSession, _admin: Admin, peer_id: PeerId) -> BackupPeerPublic:
    """Ask the appliance at the peer's address who it is now (as the detection does)."""
    peer = service.get_peer(db, peer_id)
    detect.check_peer(db, request.app.state.config, peer)
    return service.peer_view(peer)


@router.get("/backup-peers/{peer_id}/snapshots", tags=["backups"])
def peer_snapshots(db: DbSession, _user: CurrentUser, peer_id: PeerId) -> Page[SnapshotPublic]:
    """A peer's stored snapshots, newest first (time, kind, size)."""
    service.get_peer(db, peer_id)
    return Page[SnapshotPublic].whole(service.list_snapshots(db, peer_id))


def _bundle_response(
    store: ChunkStore, peer: BackupPeer, snapshot_id: int, db: Session
) -> FileResponse:
    snap = service.get_snapshot(db, peer.id, snapshot_id)
    path = write_bundle(store, peer, snap)
    return FileResponse(
        path,
        media_type=BUNDLE_MEDIA_TYPE,
        filename=f"{peer.hostname or 'appliance'}-{snap.id}.burrow-backup",
        background=BackgroundTask(path.unlink, missing_ok=True),
    )


@router.get(
    "/backup-peers/{peer_id}/snapshots/{snapshot_id}/bundle",
    tags=["backups"],
    response_class=FileResponse,
    responses=BUNDLE_RESPONSE,
)
def peer_bundle(
    db: DbSession, store: Store, _admin: Admin, peer_id: PeerId, snapshot_id: SnapshotId
) -> FileResponse:
    """One snapshot as a bundle file (administrators only: it holds the appliance's keys)."""
    return _bundle_response(store, service.get_peer(db, peer_id), snapshot_id, db)


# --- peers: the store -------------------------------------------------------------------------
@router.post("/backup-store/{peer_id}/chunks/missing", tags=["backup-store"])
def missing_chunks(store: Store, peer: Peer, body: MissingRequest) -> MissingChunks:
    """Which of these chunks (at most 10,000) the store does not have."""
    for index, digest in enumerate(body.hashes):
        check_hash(digest, f"hashes[{index}]")
    return MissingChunks(missing=store.missing(peer.id, body.hashes))


@router.put("/backup-store/{peer_id}/chunks/{digest}", tags=["backup-store"], status_code=204)
async def put_chunk(
    request: Request,
    store: Store,
    peer: Peer,
    digest: Annotated[str, Path(pattern=r"^[0-9a-f]{64}$")],
    delta_base: Annotated[str | None, Header(alias="X-Burrow-Delta-Base")] = None,
) -> Response:
    """One chunk as a zlib stream (against a delta base chunk when the header names one)."""
    size = 0
    parts = []
    async for part in request.stream():
        size += len(part)
        if size > MAX_CHUNK:
            raise ValidationError(f"The body is larger than {MAX_CHUNK} bytes.", field="body")
        parts.append(part)
    await run_in_threadpool(store.put, peer.id, digest, b"".join(parts), delta_base)
    return Response(status_code=204)


@router.post(
    "/backup-store/{peer_id}/snapshots",
    tags=["backup-store"],
    status_code=201,
    responses={
        409: documented(
            "Chunks the snapshot's tree references are not stored: the one problem (field "
            "root) lists them in its member missing"
        )
    },
)
def create_snapshot(
    db: DbSession, store: Store, peer: Peer, body: SnapshotCreate
) -> SnapshotPublic:
    """Record a snapshot whose chunks are all stored (else 409 listing the missing ones)."""
    return service.create_snapshot(db, store, peer, body)


@router.get("/backup-store/{peer_id}/snapshots", tags=["backup-store"])
def store_snapshots(db: DbSession, peer: Peer) -> Page[SnapshotPublic]:
    """The peer's own stored snapshots, newest first."""
    return Page[SnapshotPublic].whole(service.list_snapshots(db, peer.id))


@router.get(
    "/backup-store/{peer_id}/snapshots/{snapshot_id}/bundle",
    tags=["backup-store"],
    response_class=FileResponse,
    responses=BUNDLE_RESPONSE,
)
def store_bundle(db: DbSession, store: Store, peer: Peer, snapshot_id: SnapshotId) -> FileResponse:
    """One of the peer's own snapshots as a bundle file (for its export)."""
    return _bundle_response(store, peer, snapshot_id, db)


# --- replacements ------------------------------------------------------------------------------
@router.get("/replacements", tags=["replacements"])
def list_replacements(db: DbSession, _user: CurrentUser) -> Page[ReplacementPublic]:
    """Uninitialized appliances found at paired peers' addresses, newest first."""
    return Page[ReplacementPublic].whole(replace.list_offers(db))


@router.post(
    "/replacements/{replacement_id}/approve",
    tags=["replacements"],
    status_code=202,
    responses={409: documented("The offer is not offered or failed, or nothing to restore")},
)
def approve(
    request: Request,
    db: DbSession,
    store: Store,
    admin: Admin,
    replacement_id: ReplacementId,
    body: ApproveRequest,
) -> ReplacementPublic:
    """Restore the peer's latest (or a chosen) snapshot onto the replacement: the bundle is
    pushed to it over TLS pinned to the fingerprint given here; follow ``state``."""
    return replace.approve(
        db, request.app.state.sessions, request.app.state.config, store, admin, replacement_id, body
    )


@router.post(
    "/replacements/{replacement_id}/dismiss",
    tags=["replacements"],
    responses={
        409: documented("The offer is not offered or failed"),
        502: documented("The replacement could not be told to start as a new appliance"),
    },
)
def dismiss(
    request: Request,
    db: DbSession,
    admin: Admin,
    replacement_id: ReplacementId,
    body: DismissRequest,
) -> ReplacementPublic:
    """Do not restore; with the replacement's code it is told to start as a new appliance."""
    return replace.dismiss(db, request.app.state.config, admin, replacement_id, body)
