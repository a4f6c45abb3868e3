"""This appliance: its network settings, the peer Central its backups go to, its backups.

Everyone may look; changes are for administrators (Central refuses anyone else anyway). A
backup export streams the file Central sends, as it comes.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response, StreamingResponse

from webui.central import ApiError, Central
from webui.forms import FormErrors, FormInputError, Placement, Reader, in_words, refusal, status_of
from webui.models import BackupStatus, Network, Route, SentBackup, StoredBackup
from webui.session import Session
from webui.web import CurrentSession, WriteRequest, console, redirect, render, values

router = APIRouter(prefix="/appliance")

BackupId = Path(ge=1, le=2**62)
NETWORK_FIELDS = ("hostname", "extra_addresses", "routes", "resolvers", "comment")
PEER_FIELDS = ("address", "port", "token", "fingerprint", "comment")
#: Where Central's problems land: a list field's entries are its lines ("line 2: ...").
NETWORK_FORM = Placement.same(
    "hostname", "comment",
    fields={f"{name}{index}": name for name in ("extra_addresses", "routes", "resolvers")
            for index in ("", "[]")},
    entries={"extra_addresses": "line", "routes": "line", "resolvers": "resolver"},
)  # fmt: skip
PEER_FORM = Placement.same(*PEER_FIELDS)


# --- shapes ------------------------------------------------------------------------------
def lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def routes_of(read: Reader) -> list[dict[str, str]]:
    """``DESTINATION via GATEWAY`` (or ``DESTINATION GATEWAY``), one route a line."""
    routes = []
    for number, line in enumerate(lines(read.form.get("routes", "")), start=1):
        words = [w for w in line.split() if w.lower() != "via"]
        if len(words) != 2:
            read.errors.at("routes", f"line {number}: write DESTINATION via GATEWAY")
            continue
        routes.append({"destination": words[0], "gateway": words[1]})
    return routes


def routes_text(routes: list[Route]) -> str:
    return "\n".join(f"{r.destination} via {r.gateway}" for r in routes)


def network_body(read: Reader, comment: str) -> dict[str, Any]:
    return {
        "hostname": read.text("hostname"),
        "extra_addresses": lines(read.form.get("extra_addresses", "")),
        "routes": routes_of(read),
        "resolvers": [r for r in re.split(r"[\s,]+", read.text("resolvers")) if r],
        "comment": comment,
    }


def network_values(network: Network) -> dict[str, str]:
    return {
        "hostname": network.hostname,
        "extra_addresses": "\n".join(network.extra_addresses),
        "routes": routes_text(network.routes),
        "resolvers": ", ".join(network.resolvers),
    }


def age(when: str | None, now: dt.datetime | None = None) -> str:
    """``when`` (ISO 8601) as an age an administrator reads at a glance."""
    if not when:
        return "never"
    try:
        moment = dt.datetime.fromisoformat(str(when).replace("Z", "+00:00"))
    except ValueError:
        return str(when)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    seconds = max(0, int(((now or dt.datetime.now(dt.UTC)) - moment).total_seconds()))
    if seconds < 90:
        return f"{seconds} s ago"
    if seconds < 90 * 60:
        return f"{seconds // 60} min ago"
    if seconds < 36 * 3600:
        return f"{seconds // 3600} h ago"
    return f"{seconds // 86400} days ago"


def size(n: Any) -> str:
    try:
        value = float(n)
    except (TypeError, ValueError):
        return ""
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return ""


def last_backup(status: BackupStatus) -> SentBackup | None:
    """The newest backup the peer has (full or incremental), or None."""
    sent = [
        backup.model_copy(update={"kind": kind})
        for kind, backup in (("full", status.last_full), ("incremental", status.last_incremental))
        if backup is not None
    ]
    return max(sent, key=lambda b: b.created_at) if sent else None


def backup_summary(central: Central, session: Session) -> dict[str, Any]:
    """What the dashboard says of backups: peer, newest backup and its age, outbox, error."""
    try:
        status = central.backup_status(session.token)
    except ApiError as exc:
        return {"configured": False, "state": None, "error": in_words(exc)}
    newest = last_backup(status)
    return {
        "configured": status.peer is not None,
        "state": status.state,
        "peer": status.peer,
        "newest": newest,
        "age": age(newest.created_at if newest else None),
        "outbox": status.outbox,
        "pending": status.changes_not_at_peer,
        "error": status.last_error or "",
    }


# --- the page ----------------------------------------------------------------------------
def appliance_page(
    request: Request, session: Session, status_code: int = 200, **extra: Any
) -> Response:
    central = console(request).central
    token = session.token
    network: Network | None = None
    network_error = ""
    try:
        network = central.network(token)
    except ApiError as exc:
        network_error = in_words(exc)
    status = central.backup_status(token)
    peer = central.appliance_peer(token)
    backups: list[StoredBackup] = []
    backups_error = ""
    if peer.paired:
        try:
            backups = central.appliance_backups(token).items
        except ApiError as exc:
            backups_error = in_words(exc)
    newest = last_backup(status)
    context: dict[str, Any] = {
        "network": network,
        "network_error": network_error,
        "net_values": network_values(network) if network else {},
        "net_errors": FormErrors(),
        "backup_status": status,
        "newest": newest,
        "newest_age": age(newest.created_at if newest else None),
        "peer": peer,
        "peer_values": {"port": "1231"},
        "peer_errors": FormErrors(),
        "backups": backups,
        "backups_error": backups_error,
        "size": size,
        "age": age,
        "error": "",
        "result": None,
    }
    context.update(extra)
    return render(request, "appliance.html", session, status_code, **context)


@router.get("")
def appliance(request: Request, session: CurrentSession) -> Response:
    return appliance_page(request, session)


@router.post("/network")
def save_network(request: Request, write: WriteRequest) -> Response:
    read = Reader(write.form)
    try:
        body = network_body(read, write.comment)
        read.check()
        console(request).central.change_network(write.session.token, body)
    except (ApiError, FormInputError) as exc:
        errors = refusal(exc, NETWORK_FORM)
        return appliance_page(
            request, write.session, status_of(exc), net_errors=errors, error=errors.banner,
            net_values=values(write.form, *NETWORK_FIELDS),
        )  # fmt: skip
    return redirect(request, "/appliance?done=network-saved")


@router.post("/peer")
def pair(request: Request, write: WriteRequest) -> Response:
    read = Reader(write.form)
    body = {
        "address": read.text("address"),
        "port": read.whole("port", default=1231, example="1231"),
        "token": read.text("token"),
        "fingerprint": read.text("fingerprint"),
        "comment": write.comment,
    }
    try:
        read.check()
        console(request).central.pair(write.session.token, body)
    except (ApiError, FormInputError) as exc:
        shown = values(write.form, *PEER_FIELDS)
        shown.pop("token")  # a one-time secret is not written back into the page
        errors = refusal(exc, PEER_FORM)
        return appliance_page(
            request, write.session, status_of(exc), peer_values=shown, peer_errors=errors,
            error=errors.banner,
        )  # fmt: skip
    return redirect(request, "/appliance?done=peer-paired")


@router.post("/peer/delete")
def unpair(request: Request, write: WriteRequest) -> Response:
    console(request).central.unpair(write.session.token, write.comment)
    return redirect(request, "/appliance?done=peer-unpaired")


@router.post("/backups")
def back_up_now(request: Request, write: WriteRequest) -> Response:
    kind = "full" if write.get("kind") == "full" else "incremental"
    result = console(request).central.back_up(write.session.token, kind, write.comment)
    if result.error:
        return appliance_page(
            request, write.session, 200, result=result,
            error=f"The backup was taken but not sent yet (it waits in the outbox): "
            f"{result.error}",
        )  # fmt: skip
    return redirect(request, "/appliance?done=backed-up")


@router.get("/backups/{backup_id}/export")
def export(request: Request, session: CurrentSession, backup_id: int = BackupId) -> Response:
    stream, headers = console(request).central.export_backup(session.token, backup_id)
    return StreamingResponse(stream, headers=headers)


@router.post("/initialize")
def initialize(request: Request, write: WriteRequest) -> Response:
    console(request).central.initialize(write.session.token, write.comment)
    return redirect(request, "/appliance?done=initialized")
