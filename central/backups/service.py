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
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from central.backups.models import BackupPeer, BackupSnapshot, PairingToken
from central.backups.store import ChunkStore, MissingChunkError, check_hash
from central.core.config import CentralConfig
from central.core.db import now
from central.core.deps import Principal, jsonable
from central.core.problems import ProblemError
from central.core.security import token_hash
from central.history.service import SYSTEM, record
from central.settings import service as settings_service
from services.common.errors import NotFoundError, ValidationError

log = logging.getLogger(__name__)

TOKEN_LIFETIME = dt.timedelta(minutes=15)
KEEP_FULLS = 7
MAX_HASHES = 10_000
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


# --- schemas --------------------------------------------------------------------------------
class PairingTokenRequest(BaseModel):
    """Ask for a pairing token for the appliance at ``address``."""

    model_config = ConfigDict(extra="forbid")

    address: str = Field(max_length=64, description="the IPv4 address of the appliance S")
    comment: str = Field(default="", max_length=1000)


class PairRequest(BaseModel):
    """What S's appliance-agent sends to pair."""

    model_config = ConfigDict(extra="forbid")

    token: str = Field(min_length=1, max_length=200)
    appliance_id: str = Field(min_length=1, max_length=64)
    hostname: str = Field(default="", max_length=255)
    address: str = Field(max_length=64)
    agent_certificate: str = Field(min_length=1, max_length=20000)


class MissingRequest(BaseModel):
    """Which of these chunks does the store lack?"""

    model_config = ConfigDict(extra="forbid")

    hashes: list[str] = Field(max_length=MAX_HASHES)


class SnapshotCreate(BaseModel):
    """A snapshot whose chunks have all been sent."""

    model_config = ConfigDict(extra="forbid")

    root: str = Field(min_length=64, max_length=64)
    kind: str = Field(pattern=r"^(full|incremental)$")
    created_at: str = Field(max_length=40)
    sequence: int = Field(default=0, ge=0, le=2**62)
    size: int = Field(default=0, ge=0, le=2**62)


def _ipv4(value: str, field: str = "address") -> str:
    try:
        return str(ipaddress.IPv4Address(value.strip()))
    except ValueError:
        raise ValidationError(f"{value[:64]!r} is not an IPv4 address.", field=field) from None


# --- pairing --------------------------------------------------------------------------------
def issue_pairing_token(
    db: Session, config: CentralConfig, admin: Principal, body: PairingTokenRequest
) -> dict[str, Any]:
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
    return {
        "id": row.id,
        "token": token,
        "address": address,
        "expires_at": row.expires_at.isoformat(),
        "central_fingerprint": central_fingerprint(config),
    }


def pair(
    db: Session, config: CentralConfig, store: ChunkStore, caller: str, body: PairRequest
) -> dict[str, Any]:
    """Trade a pairing token for a credential; 401 bad token, 403 wrong address."""
    token = db.scalar(select(PairingToken).where(PairingToken.token_hash == token_hash(body.token)))
    if token is None or token.used_at is not None or token.expires_at <= now():
        raise ProblemError(
            401,
            "The pairing token is not valid (unknown, used or expired): ask the peer's "
            "administrator for a new one.",
            field="token",
            headers={"WWW-Authenticate": "Pairing"},
        )
    address = _ipv4(body.address)
    if caller != token.address or address != token.address:
        raise ProblemError(
            403,
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
    before = peer_public(peer, store) if peer is not None else None
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
        after=peer_public(peer, store),
        comment=f"paired from {caller} with a one-time token",
    )
    db.commit()
    return {
        "peer_id": peer.id,
        "credential": credential,
        "central_fingerprint": central_fingerprint(config),
    }


def peer_by_credential(db: Session, credential: str) -> BackupPeer | None:
    return db.scalar(select(BackupPeer).where(BackupPeer.credential_hash == token_hash(credential)))


# --- peers -----------------------------------------------------------------------------------
def get_peer(db: Session, peer_id: int) -> BackupPeer:
    peer = db.get(BackupPeer, peer_id)
    if peer is None:
        raise NotFoundError(f"There is no paired peer {peer_id}.", field="peer_id")
    return peer


def peer_public(peer: BackupPeer, store: ChunkStore | None = None) -> dict[str, Any]:
    out = {
        "id": peer.id,
        "appliance_id": peer.appliance_id,
        "hostname": peer.hostname,
        "address": peer.address,
        "agent_fingerprint": peer.agent_fingerprint,
        "comment": peer.comment,
        "paired_at": jsonable(peer.paired_at),
        "last_upload_at": jsonable(peer.last_upload_at),
        "reachable": peer.reachable,
        "last_check_at": jsonable(peer.last_check_at),
        "last_check_error": peer.last_check_error,
        "identity": peer.last_identity,
    }
    return out


def list_peers(db: Session, store: ChunkStore) -> list[dict[str, Any]]:
    peers = db.scalars(select(BackupPeer).order_by(BackupPeer.id)).all()
    out = []
    for peer in peers:
        item = peer_public(peer)
        last = latest_snapshot(db, peer.id)
        item["snapshots"] = count_snapshots(db, peer.id)
        item["latest_snapshot"] = snapshot_public(last) if last else None
        out.append(item)
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
def snapshot_public(snap: BackupSnapshot) -> dict[str, Any]:
    return {
        "id": snap.id,
        "peer_id": snap.peer_id,
        "root": snap.root,
        "kind": snap.kind,
        "created_at": snap.created_at,
        "sequence": snap.sequence,
        "size": snap.size,
        "chunks": snap.chunks,
        "received_at": jsonable(snap.received_at),
    }


def list_snapshots(db: Session, peer_id: int) -> list[dict[str, Any]]:
    rows = db.scalars(
        select(BackupSnapshot)
        .where(BackupSnapshot.peer_id == peer_id)
        .order_by(BackupSnapshot.id.desc())
    ).all()
    return [snapshot_public(s) for s in rows]


def count_snapshots(db: Session, peer_id: int) -> int:
    return len(db.scalars(select(BackupSnapshot.id).where(BackupSnapshot.peer_id == peer_id)).all())


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
) -> dict[str, Any]:
    root = check_hash(body.root, "root")
    hashes, missing = referenced(store, peer.id, root)
    if missing:
        shown = ", ".join(missing[:20]) + (" …" if len(missing) > 20 else "")
        raise MissingChunksError(missing, f"{len(missing)} chunk(s) are missing: {shown}")
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
    return snapshot_public(snap)


class MissingChunksError(ProblemError):
    """A snapshot whose tree is not complete in the store (409, listing what is missing)."""

    def __init__(self, missing: list[str], message: str) -> None:
        super().__init__(409, message, field="root")
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
