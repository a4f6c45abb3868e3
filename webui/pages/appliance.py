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
from webui.session import Session
from webui.web import CurrentSession, Write, WriteRequest, console, redirect, render, values

router = APIRouter(prefix="/appliance")

BackupId = Path(ge=1, le=2**62)
NETWORK_FIELDS = ("hostname", "extra_addresses", "routes", "resolvers", "comment")
PEER_FIELDS = ("address", "port", "token", "fingerprint", "comment")
#: How a list field's entries are called in an error ("line 2: …").
ENTRY = {"extra_addresses": "line", "routes": "line", "resolvers": "resolver"}


class FormError(ValueError):
    """A form field the console cannot turn into the API's shape (named, with the reason)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


# --- shapes ------------------------------------------------------------------------------
def lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def routes_of(text: str) -> list[dict[str, str]]:
    """``DESTINATION via GATEWAY`` (or ``DESTINATION GATEWAY``), one route a line."""
    routes = []
    for number, line in enumerate(lines(text), start=1):
        words = [w for w in line.split() if w.lower() != "via"]
        if len(words) != 2:
            raise FormError("routes", f"line {number}: write DESTINATION via GATEWAY")
        routes.append({"destination": words[0], "gateway": words[1]})
    return routes


def routes_text(routes: list[dict[str, Any]]) -> str:
    return "\n".join(f"{r.get('destination')} via {r.get('gateway')}" for r in routes)


def network_body(write: Write) -> dict[str, Any]:
    return {
        "hostname": write.get("hostname"),
        "extra_addresses": lines(write.form.get("extra_addresses", "")),
        "routes": routes_of(write.form.get("routes", "")),
        "resolvers": [r for r in re.split(r"[\s,]+", write.get("resolvers")) if r],
        "comment": write.comment,
    }


def network_values(network: dict[str, Any]) -> dict[str, str]:
    return {
        "hostname": str(network.get("hostname", "")),
        "extra_addresses": "\n".join(str(a) for a in network.get("extra_addresses") or []),
        "routes": routes_text(list(network.get("routes") or [])),
        "resolvers": ", ".join(str(r) for r in network.get("resolvers") or []),
    }


def field_errors(fields: dict[str, str]) -> dict[str, str]:
    """The API's field paths (``routes.1.gateway``) on the form's fields ("line 2: …")."""
    errors: dict[str, str] = {}
    for path, message in fields.items():
        parts = path.split(".")
        name = parts[0]
        if len(parts) > 1 and parts[1].isdigit() and name in ENTRY:
            message = f"{ENTRY[name]} {int(parts[1]) + 1}: {message}"
        errors.setdefault(name, message)
    return errors


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


def last_backup(status: dict[str, Any]) -> dict[str, Any] | None:
    """The newest backup the peer has (full or incremental), or None."""
    sent = [
        {**backup, "kind": kind}
        for kind in ("full", "incremental")
        if (backup := status.get(f"last_{kind}"))
    ]
    return max(sent, key=lambda b: str(b.get("created_at", ""))) if sent else None


def backup_summary(central: Central, session: Session) -> dict[str, Any]:
    """What the dashboard says of backups: peer, newest backup and its age, outbox, error."""
    try:
        status = central.get("/appliance/backup-status", session.token)
    except ApiError as exc:
        return {"configured": False, "error": exc.detail}
    newest = last_backup(status)
    return {
        "configured": bool(status.get("peer")),
        "state": status.get("state"),
        "peer": status.get("peer") or {},
        "newest": newest,
        "age": age(newest.get("created_at") if newest else None),
        "outbox": status.get("outbox", 0),
        "error": status.get("last_error") or "",
    }


# --- the page ----------------------------------------------------------------------------
def appliance_page(
    request: Request, session: Session, status_code: int = 200, **extra: Any
) -> Response:
    central = console(request).central
    token = session.token
    network: dict[str, Any] | None = None
    network_error = ""
    try:
        network = central.get("/appliance/network", token)
    except ApiError as exc:
        network_error = exc.detail
    status = central.get("/appliance/backup-status", token)
    peer = central.get("/appliance/peer", token)
    backups: list[dict[str, Any]] = []
    backups_error = ""
    if peer.get("paired"):
        try:
            backups = list(central.get("/appliance/backups", token)["items"])
        except ApiError as exc:
            backups_error = exc.detail
    newest = last_backup(status)
    context: dict[str, Any] = {
        "network": network,
        "network_error": network_error,
        "net_values": network_values(network) if network else {},
        "net_errors": {},
        "backup_status": status,
        "newest": newest,
        "newest_age": age(newest.get("created_at") if newest else None),
        "peer": peer,
        "peer_values": {"port": "1231"},
        "peer_errors": {},
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
    shown = values(write.form, *NETWORK_FIELDS)
    try:
        body = network_body(write)
        console(request).central.put("/appliance/network", write.session.token, body)
    except FormError as exc:
        return appliance_page(
            request, write.session, 422, net_values=shown, net_errors={exc.field: str(exc)},
            error="The network settings were not changed.",
        )  # fmt: skip
    except ApiError as exc:
        return appliance_page(
            request, write.session, exc.status, net_values=shown,
            net_errors=field_errors(exc.fields), error=exc.detail,
        )  # fmt: skip
    return redirect(request, "/appliance?done=network-saved")


@router.post("/peer")
def pair(request: Request, write: WriteRequest) -> Response:
    port = write.get("port") or "1231"
    body = {
        "address": write.get("address"),
        "port": int(port) if port.isdigit() else port,
        "token": write.get("token"),
        "fingerprint": write.get("fingerprint"),
        "comment": write.comment,
    }
    try:
        console(request).central.put("/appliance/peer", write.session.token, body)
    except ApiError as exc:
        shown = values(write.form, *PEER_FIELDS)
        shown.pop("token")  # a one-time secret is not written back into the page
        return appliance_page(
            request, write.session, exc.status, peer_values=shown,
            peer_errors=field_errors(exc.fields) or exc.errors, error=exc.detail,
        )  # fmt: skip
    return redirect(request, "/appliance?done=peer-paired")


@router.post("/peer/delete")
def unpair(request: Request, write: WriteRequest) -> Response:
    console(request).central.delete("/appliance/peer", write.session.token, comment=write.comment)
    return redirect(request, "/appliance?done=peer-unpaired")


@router.post("/backups")
def back_up_now(request: Request, write: WriteRequest) -> Response:
    kind = "full" if write.get("kind") == "full" else "incremental"
    result = console(request).central.post(
        "/appliance/backups", write.session.token, {"kind": kind, "comment": write.comment}
    )
    if result.get("error"):
        return appliance_page(
            request, write.session, 200, result=result,
            error=f"The backup was taken but not sent yet (it waits in the outbox): "
            f"{result['error']}",
        )  # fmt: skip
    return redirect(request, "/appliance?done=backed-up")


@router.get("/backups/{backup_id}/export")
def export(request: Request, session: CurrentSession, backup_id: int = BackupId) -> Response:
    stream, headers = console(request).central.download(
        f"/appliance/backups/{backup_id}/export", session.token
    )
    return StreamingResponse(stream, headers=headers)


@router.post("/initialize")
def initialize(request: Request, write: WriteRequest) -> Response:
    console(request).central.post(
        "/appliance/initialize", write.session.token, {"comment": write.comment}
    )
    return redirect(request, "/appliance?done=initialized")
