"""Backups this Central keeps for other appliances, and the replacements it offers to restore.

``/backups``                       the appliances paired with this Central (their latest
                                   backup, reachability), pairing tokens, replacements offered
``/backups/peers/{id}``            one appliance's snapshots (a bundle to download)
``/backups/replacements/{id}``     a restore's progress, refreshed until it ends

Restoring asks for what the replacement's own console shows: its certificate's fingerprint
and its restore code; "use as a new appliance" dismisses the offer.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response, StreamingResponse

from webui.central import ApiError
from webui.forms import FormErrors, FormInputError, Placement, Reader, refusal, status_of
from webui.models import Replacement, Snapshot
from webui.pages.appliance import age, size
from webui.session import Session
from webui.web import CurrentSession, Write, WriteRequest, console, redirect, render, values

router = APIRouter(prefix="/backups")

PeerId = Path(ge=1, le=2**31 - 1)
SnapshotId = Path(ge=1, le=2**31 - 1)
ReplacementId = Path(ge=1, le=2**31 - 1)
#: An offer in one of these states is over: its page stops asking for news.
FINAL = ("restored", "failed", "dismissed")
TOKEN_FORM = Placement.same("address", "comment")
APPROVE_FORM = Placement.same("fingerprint", "restore_code", "snapshot_id", "comment")


def backups_page(request: Request, session: Session, status: int = 200, **extra: Any) -> Response:
    central = console(request).central
    peers = central.backup_peers(session.token)
    offers = central.replacements(session.token)
    choices: dict[int, list[Snapshot]] = {}
    for offer in offers:
        if offer.state in ("offered", "failed") and offer.peer_id not in choices:
            try:
                choices[offer.peer_id] = central.snapshots(session.token, offer.peer_id)
            except ApiError:
                choices[offer.peer_id] = []
    context: dict[str, Any] = {
        "peers": peers,
        "offers": offers,
        "choices": choices,
        "token_values": {},
        "token_errors": FormErrors(),
        "made": None,
        "approve_errors": FormErrors(),
        "approve_for": None,
        "age": age,
        "size": size,
        "error": "",
    }
    context.update(extra)
    return render(request, "backups.html", session, status, **context)


@router.get("")
def backups(request: Request, session: CurrentSession) -> Response:
    return backups_page(request, session)


@router.post("/pairing-tokens")
def make_token(request: Request, write: WriteRequest) -> Response:
    address = write.get("address")
    try:
        made = console(request).central.make_pairing_token(
            write.session.token, address, write.comment
        )
    except ApiError as exc:
        errors = refusal(exc, TOKEN_FORM)
        return backups_page(
            request, write.session, exc.status, token_errors=errors, error=errors.banner,
            token_values=values(write.form, "address", "comment"),
        )  # fmt: skip
    # Shown once, on this answer only: the token is not kept anywhere the console can read.
    return backups_page(request, write.session, 201, made=made)


@router.get("/peers/{peer_id}")
def peer(request: Request, session: CurrentSession, peer_id: int = PeerId) -> Response:
    central = console(request).central
    return render(
        request, "backup_peer.html", session,
        peer=central.backup_peer(session.token, peer_id),
        snapshots=central.snapshots(session.token, peer_id), age=age, size=size,
    )  # fmt: skip


@router.get("/peers/{peer_id}/snapshots/{snapshot_id}/bundle")
def bundle(
    request: Request,
    session: CurrentSession,
    peer_id: int = PeerId,
    snapshot_id: int = SnapshotId,
) -> Response:
    stream, headers = console(request).central.snapshot_bundle(session.token, peer_id, snapshot_id)
    return StreamingResponse(stream, headers=headers)


@router.post("/peers/{peer_id}/check")
def check(request: Request, write: WriteRequest, peer_id: int = PeerId) -> Response:
    console(request).central.check_backup_peer(write.session.token, peer_id)
    return redirect(request, "/backups?done=peer-checked")


@router.post("/peers/{peer_id}/delete")
def delete_peer(request: Request, write: WriteRequest, peer_id: int = PeerId) -> Response:
    console(request).central.delete_backup_peer(write.session.token, peer_id, write.comment)
    return redirect(request, "/backups?done=peer-deleted")


def _decide(
    request: Request, write: Write, replacement_id: int, decision: str, read: Reader,
    body: dict[str, Any],
) -> Response | None:  # fmt: skip
    """Send the decision on an offer; the page again with the refusal, or None."""
    try:
        read.check()
        console(request).central.decide_replacement(
            write.session.token, replacement_id, decision, body
        )
    except (ApiError, FormInputError) as exc:
        errors = refusal(exc, APPROVE_FORM)
        return backups_page(
            request, write.session, status_of(exc), approve_errors=errors,
            error=errors.banner, approve_for=replacement_id,
        )  # fmt: skip
    return None


@router.post("/replacements/{replacement_id}/approve")
def approve(request: Request, write: WriteRequest, replacement_id: int = ReplacementId) -> Response:
    read = Reader(write.form)
    body = {
        "fingerprint": read.text("fingerprint"),
        "restore_code": read.text("restore_code") or None,
        "snapshot_id": read.whole("snapshot_id"),
        "comment": write.comment,
    }
    refused = _decide(request, write, replacement_id, "approve", read, body)
    return refused or redirect(
        request, f"/backups/replacements/{replacement_id}?done=restore-started"
    )


@router.post("/replacements/{replacement_id}/dismiss")
def dismiss(request: Request, write: WriteRequest, replacement_id: int = ReplacementId) -> Response:
    read = Reader(write.form)
    body = {"restore_code": read.text("restore_code") or None, "comment": write.comment}
    refused = _decide(request, write, replacement_id, "dismiss", read, body)
    return refused or redirect(request, "/backups?done=dismissed")


def _offer(request: Request, session: Session, replacement_id: int) -> Replacement:
    for item in console(request).central.replacements(session.token):
        if item.id == replacement_id:
            return item
    raise ApiError.plain(404, f"There is no replacement {replacement_id}.", "replacement_id")


@router.get("/replacements/{replacement_id}")
def progress(
    request: Request, session: CurrentSession, replacement_id: int = ReplacementId
) -> Response:
    offer = _offer(request, session, replacement_id)
    return render(request, "replacement.html", session, offer=offer, final=FINAL)


@router.get("/replacements/{replacement_id}/state")
def progress_state(
    request: Request, session: CurrentSession, replacement_id: int = ReplacementId
) -> Response:
    """The progress box alone, for the page to swap in every second until the end."""
    offer = _offer(request, session, replacement_id)
    return render(request, "replacement_state.html", session, offer=offer, final=FINAL)
