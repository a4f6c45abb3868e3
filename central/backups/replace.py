"""Replacement offers, their approval, and the restore push to the replacement appliance.

States of an offer: ``offered`` (found; waiting for an administrator) → ``approved`` →
``restoring`` (the bundle is being built, sent, applied) → ``restored`` or ``failed``;
``dismissed`` when an administrator chose "use as a new appliance" (or not to restore). A
failed offer may be approved again (a mistyped restore code, for example).

The push (a thread of its own): the chosen snapshot is written as a bundle (every chunk
checked; a tampered chunk fails the restore before anything is sent), then
``POST https://ADDRESS:4604/restore`` with ``X-Burrow-Restore-Code``, over TLS pinned to the
fingerprint the administrator approved. Central then follows ``GET /restore`` until R says
``done`` or ``failed`` (each request answered as soon as R's progress changes: ``?after=``);
while R restarts with the restored identity, its certificate is the paired appliance's
pinned one, which is accepted too. R that comes back as the paired appliance (``active``,
the paired appliance id) also counts as restored. The final step says where the time went
(packing, sending, and each step at R).

Auto-approve (Central setting ``backup_auto_approve``, default false): a new offer is
approved at once by ``system`` with the latest snapshot and no restore code. Such a push goes
to ``https://ADDRESS:4605/restore`` with this Central's certificate as the client's: only a
replacement given this Central's fingerprint at its first boot (``restore_from`` in its
appliance.json) listens there, and only for that certificate. Any other replacement cannot be
reached there: the offer is ``failed`` until an administrator approves it with the code.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from central.backups import pinned
from central.backups.bundle import write_bundle
from central.backups.models import BackupPeer, Replacement
from central.backups.schemas import ApproveRequest, DismissRequest, ReplacementPublic
from central.backups.service import (
    get_snapshot,
    latest_snapshot,
    normal_fingerprint,
    snapshot_public,
)
from central.backups.store import ChunkStore, StoredChunkError, store_for
from central.core.config import CentralConfig
from central.core.db import now
from central.core.deps import Principal
from central.history.service import SYSTEM, record
from central.registry.agent_client import client_certificate
from central.settings import service as settings_service
from services.common.errors import ConflictError, DaemonError, NotFoundError, ValidationError
from services.common.settings import ApplianceSettings

log = logging.getLogger(__name__)

OPEN = ("offered", "approved", "restoring")
APPROVABLE = ("offered", "failed")
#: How long Central follows a restore before it calls it failed.
FOLLOW_SECONDS = 15 * 60
FOLLOW_POLL = 0.25
#: How long one ``GET /restore?after=…&wait=`` may wait for the replacement's next step.
FOLLOW_WAIT = 4.0
CODE_HEADER = "X-Burrow-Restore-Code"


def offer_view(item: Replacement) -> ReplacementPublic:
    return ReplacementPublic.model_validate(item)


def offer_public(item: Replacement) -> dict[str, Any]:
    """An offer as the history records it."""
    return offer_view(item).model_dump(mode="json")


def list_offers(db: Session) -> list[ReplacementPublic]:
    rows = db.scalars(select(Replacement).order_by(Replacement.id.desc())).all()
    return [offer_view(r) for r in rows]


_offer_lock = threading.Lock()


def offer(
    db: Session, config: CentralConfig, peer: BackupPeer, identity: dict[str, Any], seen: str
) -> Replacement:
    """The offer for the uninitialized appliance ``identity`` at ``peer``'s address (made
    once per appliance id; an existing one is only marked as seen again)."""
    appliance_id = str(identity.get("appliance_id", ""))[:64]
    with _offer_lock:
        existing = db.scalar(
            select(Replacement).where(
                Replacement.peer_id == peer.id, Replacement.appliance_id == appliance_id
            )
        )
        if existing is not None:
            existing.last_seen = now()
            if existing.state in APPROVABLE:
                existing.fingerprint = seen
            db.commit()
            return existing
        item = Replacement(
            peer_id=peer.id,
            address=peer.address,
            fingerprint=seen,
            appliance_id=appliance_id,
            hostname=str(identity.get("hostname", ""))[:255],
            state="offered",
            step="",
            error="",
            approved_by="",
        )
        db.add(item)
        db.flush()
        record(
            db,
            SYSTEM,
            "replacement",
            item.id,
            "offer",
            after=offer_public(item),
            comment=f"an uninitialized appliance answers at {peer.address}, the address of "
            f"backup peer {peer.id} ({peer.hostname or peer.appliance_id})",
        )
        db.commit()
    log.info("replacement offer %s for peer %s at %s", item.id, peer.id, peer.address)
    if settings_service.load(db).backup_auto_approve:
        try:
            _start(db, config, store_for(config.root), item, SYSTEM, None, None, "auto-approve")
        except ConflictError as exc:
            log.warning("auto-approve of replacement %s: %s", item.id, exc.message)
    return item


def get_offer(db: Session, replacement_id: int) -> Replacement:
    item = db.get(Replacement, replacement_id)
    if item is None:
        raise NotFoundError(f"There is no replacement {replacement_id}.", field="replacement_id")
    return item


def _peer_of(db: Session, item: Replacement) -> BackupPeer:
    peer = db.get(BackupPeer, item.peer_id)
    if peer is None or peer.address != item.address:
        raise ConflictError(
            f"No paired peer has the address {item.address} any more: nothing to restore there.",
            field="replacement_id",
        )
    return peer


def approve(
    db: Session,
    sessions: Any,
    config: CentralConfig,
    store: ChunkStore,
    admin: Principal,
    replacement_id: int,
    body: ApproveRequest,
) -> ReplacementPublic:
    item = get_offer(db, replacement_id)
    if item.state not in APPROVABLE:
        raise ConflictError(
            f"Replacement {item.id} is {item.state}; only an offered or failed one can be "
            "approved.",
            field="replacement_id",
        )
    _peer_of(db, item)
    if normal_fingerprint(body.fingerprint) != item.fingerprint:
        raise ValidationError(
            f"The fingerprint does not match the appliance at {item.address}: it presents "
            f"{item.fingerprint}. Read it again on that appliance's console.",
            field="fingerprint",
        )
    code = body.restore_code.strip().upper() if body.restore_code else None
    _start(db, config, store, item, admin, code, body.snapshot_id, body.comment)
    return offer_view(item)


def _start(
    db: Session,
    config: CentralConfig,
    store: ChunkStore,
    item: Replacement,
    actor: Principal | str,
    code: str | None,
    snapshot_id: int | None,
    comment: str,
) -> None:
    if snapshot_id is not None:
        try:
            snap = get_snapshot(db, item.peer_id, snapshot_id)
        except NotFoundError as exc:
            raise ValidationError(exc.message, field="snapshot_id") from None
    else:
        latest = latest_snapshot(db, item.peer_id)
        if latest is None:
            raise ConflictError(
                f"Peer {item.peer_id} has no stored snapshot yet: nothing to restore.",
                field="snapshot_id",
            )
        snap = latest
    before = offer_public(item)
    item.state = "approved"
    item.step = "approved"
    item.error = ""
    item.snapshot_id = snap.id
    item.approved_by = actor.username if isinstance(actor, Principal) else actor
    item.approved_at = now()
    item.finished_at = None
    record(
        db,
        actor,
        "replacement",
        item.id,
        "approve",
        before=before,
        after={**offer_public(item), "snapshot": snapshot_public(snap)},
        comment=comment,
    )
    db.commit()
    sessions = _sessions_of(db)
    thread = threading.Thread(
        target=push,
        args=(sessions, config, store, item.id, code),
        name=f"restore-{item.id}",
        daemon=True,
    )
    thread.start()


def _sessions_of(db: Session) -> Any:
    """A session factory bound like ``db`` (for the push thread)."""
    from sqlalchemy.orm import sessionmaker

    return sessionmaker(db.get_bind(), expire_on_commit=False)


def dismiss(
    db: Session,
    config: CentralConfig,
    admin: Principal,
    replacement_id: int,
    body: DismissRequest,
) -> ReplacementPublic:
    item = get_offer(db, replacement_id)
    if item.state not in APPROVABLE:
        raise ConflictError(
            f"Replacement {item.id} is {item.state}; only an offered or failed one can be "
            "dismissed.",
            field="replacement_id",
        )
    if body.restore_code:
        try:
            answer = pinned.request(
                item.address,
                "POST",
                "/initialize",
                fingerprint=item.fingerprint,
                headers={CODE_HEADER: body.restore_code.strip().upper()},
                body=b"",
            )
        except pinned.PinnedError as exc:
            raise DaemonError(str(exc), field="replacement_id") from None
        if answer.status == 403:
            raise ValidationError(
                f"The appliance at {item.address} refused the restore code.",
                field="restore_code",
            )
        if answer.status >= 300:
            raise DaemonError(
                f"The appliance at {item.address} answered /initialize with HTTP "
                f"{answer.status}: {answer.body[:300].decode(errors='replace')}",
                field="replacement_id",
            )
    before = offer_public(item)
    item.state = "dismissed"
    item.step = "initialized as a new appliance" if body.restore_code else "dismissed"
    item.finished_at = now()
    record(
        db,
        admin,
        "replacement",
        item.id,
        "dismiss",
        before=before,
        after=offer_public(item),
        comment=body.comment,
    )
    db.commit()
    return offer_view(item)


def fail_interrupted(db: Session) -> None:
    """Offers left approved or restoring by a Central that stopped: they failed."""
    for item in db.scalars(
        select(Replacement).where(Replacement.state.in_(("approved", "restoring")))
    ):
        item.state = "failed"
        item.error = "Central restarted during the restore: approve it again."
        item.finished_at = now()
        record(db, SYSTEM, "replacement", item.id, "fail", after=offer_public(item))
    db.commit()


# --- the push ----------------------------------------------------------------------------------
def _file_parts(path: Path, size: int = 1024 * 1024) -> Iterator[bytes]:
    with path.open("rb") as fh:
        while part := fh.read(size):
            yield part


def _set(db: Session, item: Replacement, state: str, step: str, error: str = "") -> None:
    item.state = state
    item.step = step
    item.error = error
    if state in ("restored", "failed"):
        item.finished_at = now()
        record(
            db,
            SYSTEM,
            "replacement",
            item.id,
            "restore" if state == "restored" else "fail",
            after=offer_public(item),
            comment=error or step,
        )
    db.commit()


def _own_address(config: CentralConfig) -> str:
    """This Central's address as its appliance's settings say (the peer of the replacement)."""
    try:
        return ApplianceSettings.load(config.root.appliance_settings).ip
    except Exception:  # a missing or older settings file: the history names no address
        return ""


def push(
    sessions: Any, config: CentralConfig, store: ChunkStore, replacement_id: int, code: str | None
) -> None:
    """Send the approved snapshot to the replacement and follow it until done or failed."""
    with sessions() as db:
        item = db.get(Replacement, replacement_id)
        if item is None or item.snapshot_id is None:
            return
        try:
            _push(db, config, store, item, code)
        except Exception as exc:
            log.exception("the restore of replacement %s failed", replacement_id)
            db.rollback()
            _set(db, item, "failed", item.step, f"{type(exc).__name__}: {exc}")


def _push(
    db: Session, config: CentralConfig, store: ChunkStore, item: Replacement, code: str | None
) -> None:
    peer = db.get(BackupPeer, item.peer_id)
    assert item.snapshot_id is not None
    if peer is None:
        _set(db, item, "failed", "approved", "The paired peer was removed.")
        return
    snap = get_snapshot(db, peer.id, item.snapshot_id)
    began = time.monotonic()
    _set(db, item, "restoring", f"checking and packing snapshot {snap.id}")
    try:
        path = write_bundle(store, peer, snap)
    except StoredChunkError as exc:
        _set(db, item, "failed", item.step, exc.message)
        return
    packed = time.monotonic()
    try:
        size = path.stat().st_size
        _set(db, item, "restoring", f"sending snapshot {snap.id} ({size} bytes)")
        headers = {
            "Content-Type": "application/octet-stream",
            # For the replacement's history: which snapshot, approved by whom, when, from where.
            "X-Burrow-Restore-Snapshot": str(snap.id),
            "X-Burrow-Restore-Approved-By": item.approved_by or "system",
            "X-Burrow-Restore-Approved-At": (
                item.approved_at.isoformat().replace("+00:00", "Z") if item.approved_at else ""
            ),
            "X-Burrow-Restore-From": _own_address(config),
        }
        # With the code: the receiver every replacement serves. Without it (auto-approve):
        # the listener of a replacement told to trust this Central, which asks for its
        # certificate instead (services.appliance.backup.trusted).
        port, client_cert = pinned.PORT, None
        if code:
            headers[CODE_HEADER] = code
        else:
            port = pinned.TRUSTED_PORT
            mine = client_certificate(config.root)  # clientAuth; central.crt is the API's
            client_cert = (str(mine.cert), str(mine.key))
        try:
            answer = pinned.request(
                item.address,
                "POST",
                "/restore",
                fingerprint=item.fingerprint,
                headers=headers,
                body=_file_parts(path),
                length=size,
                timeout=120,
                port=port,
                client_cert=client_cert,
            )
        except pinned.PinnedError as exc:
            _set(db, item, "failed", item.step, str(exc))
            return
    finally:
        path.unlink(missing_ok=True)
    if answer.status == 403:
        _set(
            db,
            item,
            "failed",
            item.step,
            f"The appliance at {item.address} refused the restore code: "
            f"{_detail(answer)} Approve again with the code shown on its console.",
        )
        return
    if answer.status not in (200, 202):
        _set(
            db,
            item,
            "failed",
            item.step,
            f"The appliance at {item.address} refused the restore with HTTP {answer.status}: "
            f"{_detail(answer)}",
        )
        return
    sent = time.monotonic()
    _set(db, item, "restoring", "sent; the appliance applies it")
    _follow(
        db,
        item,
        peer,
        f"packed in {packed - began:.1f} s, sent and checked in {sent - packed:.1f} s",
        began,
    )


def _detail(answer: pinned.Answer) -> str:
    """The replacement's problem answer in one sentence: its detail and every problem."""
    try:
        body = answer.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("detail"), str):
        items = [p for p in body.get("problems") or [] if isinstance(p, dict)]
        said = "; ".join(f"{p.get('field')}: {p.get('message')}" for p in items)
        text = str(body["detail"]) + (f" ({said})" if said and said not in body["detail"] else "")
        return text[:500]
    return answer.body[:300].decode(errors="replace")


def _follow(
    db: Session, item: Replacement, peer: BackupPeer, pushed: str = "", began: float = 0.0
) -> None:
    """Follow the replacement's progress until ``done`` or ``failed``. The final step says
    where the time went: ``pushed`` (this side's packing and sending, from ``began``) and the
    appliance's own steps (its ``done`` step lists them)."""
    deadline = time.monotonic() + FOLLOW_SECONDS
    allowed = (peer.agent_fingerprint,)
    last_error = ""
    seen: float | None = None
    while time.monotonic() < deadline:
        # The replacement answers as soon as its progress changes (or after FOLLOW_WAIT);
        # one that does not know ``after`` answers at once and is asked every FOLLOW_POLL.
        query = "" if seen is None else f"?after={seen!r}&wait={FOLLOW_WAIT}"
        try:
            answer = pinned.request(
                item.address,
                "GET",
                "/restore" + query,
                fingerprint=item.fingerprint,
                allowed=allowed,
                timeout=FOLLOW_WAIT + 5,
            )
            progress = answer.json() if answer.status == 200 else None
        except (pinned.PinnedError, ValueError) as exc:
            last_error = str(exc)
            progress = None
        waited = isinstance(progress, dict) and isinstance(progress.get("at"), float)
        if isinstance(progress, dict):
            seen = progress["at"] if waited else None
            state = str(progress.get("state", ""))
            step = str(progress.get("step") or state)
            if state == "done":
                took = f" in {time.monotonic() - began:.1f} s" if began else ""
                said = "; ".join(part for part in (pushed, step if step != "done" else "") if part)
                _set(db, item, "restored", f"done{took}" + (f" ({said})" if said else ""))
                return
            if state == "failed":
                _set(db, item, "failed", step, str(progress.get("error") or "restore failed"))
                return
            if step and step != item.step:
                _set(db, item, "restoring", step)
        else:
            try:
                identity = pinned.request(
                    item.address, "GET", "/identity", fingerprint=None, allowed=(), timeout=5
                ).json()
            except (pinned.PinnedError, ValueError):
                identity = None
            if (
                isinstance(identity, dict)
                and identity.get("appliance_id") == peer.appliance_id
                and identity.get("state") == "active"
            ):
                _set(db, item, "restored", "done")
                return
        if not waited:
            time.sleep(FOLLOW_POLL)
    _set(
        db,
        item,
        "failed",
        item.step,
        f"The appliance at {item.address} did not finish within {FOLLOW_SECONDS} s "
        f"({last_error or 'no answer'}).",
    )
