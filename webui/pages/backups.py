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
from webui.pages.appliance import age, size
from webui.session import Session
from webui.web import CurrentSession, Write, WriteRequest, console, redirect, render, values

router = APIRouter(prefix="/backups")

PeerId = Path(ge=1, le=2**31 - 1)
SnapshotId = Path(ge=1, le=2**31 - 1)
ReplacementId = Path(ge=1, le=2**31 - 1)
#: An offer in one of these states is over: its page stops asking for news.
FINAL = ("restored", "failed", "dismissed")


def _snapshots(request: Request, session: Session, peer_id: int) -> list[dict[str, Any]]:
    answer = console(request).central.get(f"/backup-peers/{peer_id}/snapshots", session.token)
    return list(answer["items"])


def backups_page(request: Request, session: Session, status: int = 200, **extra: Any) -> Response:
    central = console(request).central
    peers = list(central.get("/backup-peers", session.token)["items"])
    offers = list(central.get("/replacements", session.token)["items"])
    choices: dict[int, list[dict[str, Any]]] = {}
    for offer in offers:
        if offer["state"] in ("offered", "failed") and offer["peer_id"] not in choices:
            try:
                choices[offer["peer_id"]] = _snapshots(request, session, offer["peer_id"])
            except ApiError:
                choices[offer["peer_id"]] = []
    context: dict[str, Any] = {
        "peers": peers,
        "offers": offers,
        "choices": choices,
        "token_values": {},
        "token_errors": {},
        "made": None,
        "approve_errors": {},
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
    body = {"address": write.get("address"), "comment": write.comment}
    try:
        made = console(request).central.post(
            "/backup-peers/pairing-tokens", write.session.token, body
        )
    except ApiError as exc:
        return backups_page(
            request, write.session, exc.status, token_errors=exc.errors, error=exc.detail,
            token_values=values(write.form, "address", "comment"),
        )  # fmt: skip
    # Shown once, on this answer only: the token is not kept anywhere the console can read.
    return backups_page(request, write.session, 201, made=made | {"address": body["address"]})


@router.get("/peers/{peer_id}")
def peer(request: Request, session: CurrentSession, peer_id: int = PeerId) -> Response:
    central = console(request).central
    item = central.get(f"/backup-peers/{peer_id}", session.token)
    return render(
        request, "backup_peer.html", session,
        peer=item, snapshots=_snapshots(request, session, peer_id), age=age, size=size,
    )  # fmt: skip


@router.get("/peers/{peer_id}/snapshots/{snapshot_id}/bundle")
def bundle(
    request: Request,
    session: CurrentSession,
    peer_id: int = PeerId,
    snapshot_id: int = SnapshotId,
) -> Response:
    stream, headers = console(request).central.download(
        f"/backup-peers/{peer_id}/snapshots/{snapshot_id}/bundle", session.token
    )
    return StreamingResponse(stream, headers=headers)


@router.post("/peers/{peer_id}/check")
def check(request: Request, write: WriteRequest, peer_id: int = PeerId) -> Response:
    console(request).central.post(f"/backup-peers/{peer_id}/check", write.session.token)
    return redirect(request, "/backups?done=peer-checked")


@router.post("/peers/{peer_id}/delete")
def delete_peer(request: Request, write: WriteRequest, peer_id: int = PeerId) -> Response:
    console(request).central.delete(
        f"/backup-peers/{peer_id}", write.session.token, comment=write.comment
    )
    return redirect(request, "/backups?done=peer-deleted")


def _offer_action(
    request: Request, write: Write, replacement_id: int, action: str, body: dict[str, Any]
) -> Response | None:
    """POST ``body`` to the offer's ``action``; the page again with the error, or None."""
    try:
        console(request).central.post(
            f"/replacements/{replacement_id}/{action}", write.session.token, body
        )
    except ApiError as exc:
        return backups_page(
            request, write.session, exc.status, approve_errors=exc.errors, error=exc.detail,
            approve_for=replacement_id,
        )  # fmt: skip
    return None


@router.post("/replacements/{replacement_id}/approve")
def approve(request: Request, write: WriteRequest, replacement_id: int = ReplacementId) -> Response:
    snapshot = write.get("snapshot_id")
    body = {
        "fingerprint": write.get("fingerprint"),
        "restore_code": write.get("restore_code") or None,
        "snapshot_id": int(snapshot) if snapshot.isdigit() else None,
        "comment": write.comment,
    }
    refused = _offer_action(request, write, replacement_id, "approve", body)
    return refused or redirect(
        request, f"/backups/replacements/{replacement_id}?done=restore-started"
    )


@router.post("/replacements/{replacement_id}/dismiss")
def dismiss(request: Request, write: WriteRequest, replacement_id: int = ReplacementId) -> Response:
    body = {"restore_code": write.get("restore_code") or None, "comment": write.comment}
    refused = _offer_action(request, write, replacement_id, "dismiss", body)
    return refused or redirect(request, "/backups?done=dismissed")


def _offer(request: Request, session: Session, replacement_id: int) -> dict[str, Any]:
    for item in console(request).central.get("/replacements", session.token)["items"]:
        if item["id"] == replacement_id:
            return dict(item)
    raise ApiError(404, f"There is no replacement {replacement_id}.", "replacement_id")


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
