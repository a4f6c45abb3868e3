"""Pairing of appliances with this Central, the list of paired peers, and their snapshots.

Pairing (``issue 7 design``): an administrator asks for a one-time token bound to the
address of the appliance S that will send its backups here (15 minutes). S's appliance-agent
then calls ``POST /api/v1/backup-peers/pair`` from that address with the token, its
appliance id and the PEM of its agent certificate, and receives a credential (43 random
characters; only its sha256 is kept) for the store endpoints. If the same appliance pairs
again (same appliance id), the existing peer is kept with its backups and gets a new
credential; the earlier one stops working.

Snapshots: a snapshot is recorded only when every chunk its tree references is stored
(``services.common.backup.format.walk``). Then retention runs: the newest
``KEEP_FULLS`` full snapshots and everything received after the oldest of them are kept;
the Central setting ``backup_retention_days`` is a second bound (a snapshot received longer
ago is dropped) that never drops the newest full snapshot or anything after it. Chunks no
kept snapshot references are then removed (after a grace period, see ``store``). Snapshot
uploads are not written to the history (one per change would drown it); pairing, deleting
a peer and every step of a replacement are.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import logging
import secrets
from collections.abc import Iterator
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from central.backups.models import BackupPeer, BackupSnapshot, PairingToken
from central.backups.schemas import (
    BackupPeerDetail,
    BackupPeerListed,
    BackupPeerPublic,
    Paired,
    PairingTokenIssued,
    PairingTokenRequest,
    PairRequest,
    SnapshotCreate,
    SnapshotPublic,
)
from central.backups.store import ChunkStore, MissingChunkError, check_hash
from central.core.config import CentralConfig
from central.core.db import now
from central.core.deps import Principal
from central.core.security import token_hash
from central.history.service import SYSTEM, record
from central.settings import service as settings_service
from services.common.errors import (
    ConflictError,
    FieldProblem,
    ForbiddenError,
    NotFoundError,
    UnauthenticatedError,
    ValidationError,
)

log = logging.getLogger(__name__)

TOKEN_LIFETIME = dt.timedelta(minutes=15)
KEEP_FULLS = 7
PEER_PORT = 4604


# --- fingerprints -------------------------------------------------------------------------
def fingerprint_of_der(der: bytes) -> str:
    """``sha256:<hex>`` of a DER certificate, the form of the wire contract."""
    return "sha256:" + hashlib.sha256(der).hexdigest()


def normal_fingerprint(value: str) -> str:
    """A fingerprint as written by people (``sha256:ab…``, ``AB:CD:…``) in the contract form."""
    text = value.strip().lower()
    text = text.removeprefix("sha256:").replace(":", "").replace(" ", "")
    if len(text) != 64 or any(c not in "0123456789abcdef" for c in text):
        raise ValidationError(
            "A fingerprint is sha256: and 64 hex digits (colons allowed).", field="fingerprint"
        )
    return "sha256:" + text


def central_fingerprint(config: CentralConfig) -> str:
    cert = x509.load_pem_x509_certificate(config.tls.cert.read_bytes())
    return fingerprint_of_der(cert.public_bytes(serialization.Encoding.DER))


def _ipv4(value: str, field: str = "address") -> str:
    try:
        return str(ipaddress.IPv4Address(value.strip()))
    except ValueError:
        raise ValidationError(f"{value[:64]!r} is not an IPv4 address.", field=field) from None


# --- pairing --------------------------------------------------------------------------------
def issue_pairing_token(
    db: Session, config: CentralConfig, admin: Principal, body: PairingTokenRequest
) -> PairingTokenIssued:
    address = _ipv4(body.address)
    token = "bwpair_" + secrets.token_urlsafe(32)
    row = PairingToken(
        token_hash=token_hash(token),
        address=address,
        comment=body.comment,
        created_by=admin.username,
        expires_at=now() + TOKEN_LIFETIME,
    )
    db.add(row)
    db.flush()
    record(
        db,
        admin,
        "backup-pairing-token",
        row.id,
        "create",
        after={"address": address, "expires_at": row.expires_at.isoformat()},
        comment=body.comment,
    )
    db.commit()
    return PairingTokenIssued(
        id=row.id,
        token=token,
        address=address,
        expires_at=row.expires_at,
        central_fingerprint=central_fingerprint(config),
    )


def pair(
    db: Session, config: CentralConfig, store: ChunkStore, caller: str, body: PairRequest
) -> Paired:
    """Trade a pairing token for a credential; 401 bad token, 403 wrong address."""
    token = db.scalar(select(PairingToken).where(PairingToken.token_hash == token_hash(body.token)))
    if token is None or token.used_at is not None or token.expires_at <= now():
        raise UnauthenticatedError(
            "The pairing token is not valid (unknown, used or expired): ask the peer's "
            "administrator for a new one.",
            field="token",
            headers={"WWW-Authenticate": "Pairing"},
        )
    address = _ipv4(body.address)
    if caller != token.address or address != token.address:
        raise ForbiddenError(
            f"This pairing token is for the appliance at {token.address}; the request came "
            f"from {caller} for {address}.",
            field="address",
        )
    try:
        cert = x509.load_pem_x509_certificate(body.agent_certificate.encode())
    except ValueError:
        raise ValidationError(
            "agent_certificate is not a PEM certificate.", field="agent_certificate"
        ) from None
    pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    fingerprint = fingerprint_of_der(cert.public_bytes(serialization.Encoding.DER))
    credential = secrets.token_urlsafe(32)
    peer = db.scalar(select(BackupPeer).where(BackupPeer.appliance_id == body.appliance_id))
    before = peer_public(peer) if peer is not None else None
    if peer is None:
        peer = BackupPeer(appliance_id=body.appliance_id, last_check_error="", comment="")
        db.add(peer)
    peer.hostname = body.hostname
    peer.address = address
    peer.agent_fingerprint = fingerprint
    peer.agent_certificate = pem
    peer.credential_hash = token_hash(credential)
    peer.comment = token.comment
    peer.paired_at = now()
    db.flush()
    token.used_at = now()
    token.peer_id = peer.id
    record(
        db,
        SYSTEM,
        "backup-peer",
        peer.id,
        "pair",
        before=before,
        after=peer_public(peer),
        comment=f"paired from {caller} with a one-time token",
    )
    db.commit()
    return Paired(
        peer_id=peer.id, credential=credential, central_fingerprint=central_fingerprint(config)
    )


def peer_by_credential(db: Session, credential: str) -> BackupPeer | None:
    return db.scalar(select(BackupPeer).where(BackupPeer.credential_hash == token_hash(credential)))


# --- peers -----------------------------------------------------------------------------------
def get_peer(db: Session, peer_id: int) -> BackupPeer:
    peer = db.get(BackupPeer, peer_id)
    if peer is None:
        raise NotFoundError(f"There is no paired peer {peer_id}.", field="peer_id")
    return peer


def peer_view(peer: BackupPeer) -> BackupPeerPublic:
    return BackupPeerPublic(**_peer_fields(peer))


def _peer_fields(peer: BackupPeer) -> dict[str, Any]:
    return {
        "id": peer.id,
        "appliance_id": peer.appliance_id,
        "hostname": peer.hostname,
        "address": peer.address,
        "agent_fingerprint": peer.agent_fingerprint,
        "comment": peer.comment,
        "paired_at": peer.paired_at,
        "last_upload_at": peer.last_upload_at,
        "reachable": peer.reachable,
        "last_check_at": peer.last_check_at,
        "last_check_error": peer.last_check_error,
        "identity": peer.last_identity,
    }


def peer_public(peer: BackupPeer) -> dict[str, Any]:
    """A peer as the history records it."""
    return peer_view(peer).model_dump(mode="json")


def peer_detail(db: Session, store: ChunkStore, peer: BackupPeer) -> BackupPeerDetail:
    return BackupPeerDetail(
        **_peer_fields(peer),
        snapshots=count_snapshots(db, peer.id),
        stored_bytes=store.stored_bytes(peer.id),
    )


def list_peers(db: Session) -> list[BackupPeerListed]:
    peers = db.scalars(select(BackupPeer).order_by(BackupPeer.id)).all()
    out = []
    for peer in peers:
        last = latest_snapshot(db, peer.id)
        out.append(
            BackupPeerListed(
                **_peer_fields(peer),
                snapshots=count_snapshots(db, peer.id),
                latest_snapshot=snapshot_view(last) if last else None,
            )
        )
    return out


def delete_peer(
    db: Session, store: ChunkStore, actor: Principal, peer_id: int, comment: str
) -> None:
    """Forget a peer: its credential stops working and its stored backups are removed."""
    peer = get_peer(db, peer_id)
    before = peer_public(peer)
    db.delete(peer)
    record(db, actor, "backup-peer", peer_id, "delete", before=before, comment=comment)
    db.commit()
    store.remove_peer(peer_id)


# --- snapshots -------------------------------------------------------------------------------
def snapshot_view(snap: BackupSnapshot) -> SnapshotPublic:
    return SnapshotPublic.model_validate(snap)


def snapshot_public(snap: BackupSnapshot) -> dict[str, Any]:
    """A snapshot as the history records it."""
    return snapshot_view(snap).model_dump(mode="json")


def list_snapshots(db: Session, peer_id: int) -> list[SnapshotPublic]:
    rows = db.scalars(
        select(BackupSnapshot)
        .where(BackupSnapshot.peer_id == peer_id)
        .order_by(BackupSnapshot.id.desc())
    ).all()
    return [snapshot_view(s) for s in rows]


def count_snapshots(db: Session, peer_id: int) -> int:
    count = db.scalar(
        select(func.count()).select_from(BackupSnapshot).where(BackupSnapshot.peer_id == peer_id)
    )
    return int(count or 0)


def latest_snapshot(db: Session, peer_id: int) -> BackupSnapshot | None:
    return db.scalar(
        select(BackupSnapshot)
        .where(BackupSnapshot.peer_id == peer_id)
        .order_by(BackupSnapshot.id.desc())
        .limit(1)
    )


def get_snapshot(db: Session, peer_id: int, snapshot_id: int) -> BackupSnapshot:
    snap = db.get(BackupSnapshot, snapshot_id)
    if snap is None or snap.peer_id != peer_id:
        raise NotFoundError(f"Peer {peer_id} has no snapshot {snapshot_id}.", field="snapshot_id")
    return snap


def referenced(store: ChunkStore, peer_id: int, root: str) -> tuple[list[str], list[str]]:
    """Every hash the tree of ``root`` references, and those of them that are not stored.

    A stored chunk that fails its check raises ``StoredChunkError``; a chunk that is not what
    the format says raises ``BackupFormatError`` (422).
    """
    from central.backups.bundle import getter
    from services.common.backup.format import walk

    seen: list[str] = []
    missing: list[str] = []
    for digest in walk(root, getter(store, peer_id)):
        seen.append(digest)
        if not store.has(peer_id, digest):
            missing.append(digest)
    return seen, missing


def create_snapshot(
    db: Session, store: ChunkStore, peer: BackupPeer, body: SnapshotCreate
) -> SnapshotPublic:
    root = check_hash(body.root, "root")
    hashes, missing = referenced(store, peer.id, root)
    if missing:
        raise MissingChunksError(missing)
    store.sync()
    snap = BackupSnapshot(
        peer_id=peer.id,
        root=root,
        kind=body.kind,
        created_at=body.created_at,
        sequence=body.sequence,
        size=body.size,
        chunks=len(set(hashes)),
    )
    db.add(snap)
    peer.last_upload_at = now()
    db.flush()
    store.save_refs(peer.id, snap.id, hashes)
    db.commit()
    apply_retention(db, store, peer.id)
    return snapshot_view(snap)


class MissingChunksError(ConflictError):
    """A snapshot whose tree is not complete in the store (409).

    The one problem names ``root`` and lists every chunk the tree references that is not
    stored in its member ``missing``: send those, then the snapshot again.
    """

    code = "backup-incomplete"

    def __init__(self, missing: list[str]) -> None:
        shown = ", ".join(missing[:20]) + (" …" if len(missing) > 20 else "")
        message = f"{len(missing)} chunk(s) are missing: {shown}"
        problem = FieldProblem(
            "root",
            f"the tree of this root references {len(missing)} chunk(s) that are not stored",
            {"missing": missing},
        )
        super().__init__(
            message, problems=[problem], hint="send the missing chunks, then the snapshot again"
        )
        self.missing = missing


def apply_retention(db: Session, store: ChunkStore, peer_id: int) -> list[int]:
    """Drop the snapshots retention no longer keeps and their unreferenced chunks."""
    rows = list(
        db.scalars(
            select(BackupSnapshot)
            .where(BackupSnapshot.peer_id == peer_id)
            .order_by(BackupSnapshot.id.desc())
        ).all()
    )
    if not rows:
        return []
    days = settings_service.load(db).backup_retention_days
    horizon = now() - dt.timedelta(days=days)
    fulls = [s for s in rows if s.kind == "full"]
    keep_from = fulls[KEEP_FULLS - 1].id if len(fulls) >= KEEP_FULLS else 0
    protected_from = fulls[0].id if fulls else rows[0].id
    dropped = []
    for snap in rows:
        too_many = snap.id < keep_from
        too_old = snap.received_at < horizon and snap.id < protected_from
        if too_many or too_old:
            dropped.append(snap)
    if not dropped:
        return []
    for snap in dropped:
        db.delete(snap)
    db.commit()
    for snap in dropped:
        store.forget_refs(peer_id, snap.id)
    keep: set[str] = set()
    for snap in rows:
        if snap not in dropped:
            keep |= store.load_refs(peer_id, snap.id)
    removed = store.collect_garbage(peer_id, keep)
    log.info(
        "retention of peer %s dropped %d snapshot(s) and %d chunk(s)",
        peer_id,
        len(dropped),
        removed,
    )
    return [s.id for s in dropped]


def iter_snapshot_chunks(store: ChunkStore, peer_id: int, snap: BackupSnapshot) -> Iterator[str]:
    refs = store.load_refs(peer_id, snap.id)
    if refs:
        yield from sorted(refs)
        return
    hashes, missing = referenced(store, peer_id, snap.root)
    if missing:
        raise MissingChunkError(missing[0])
    yield from dict.fromkeys(hashes)
