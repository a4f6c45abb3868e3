"""The Caching page of a caching DNS server (Unbound): its statistics, its settings as one
form (forwarders, forward and stub zones, local zones with their records, access rules, DNSSEC
validation and insecure names, cache sizes and TTLs) and a form that flushes a name or a whole
zone from the cache. Each form sends Central what it shows, with a save comment; every refusal
is shown at the field (and the line) it names. Read-only users see the forms disabled."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from webui import caching
from webui.central import ApiError
from webui.forms import FormErrors, FormInputError, Reader, in_words, refusal, status_of
from webui.session import Session
from webui.web import CurrentSession, WriteRequest, console, redirect, render

router = APIRouter(prefix="/caching")

ServerId = Path(ge=1, le=2**31 - 1)


@router.get("")
def caching_servers(request: Request, session: CurrentSession) -> Response:
    """The caching servers; with only one, its page."""
    found = caching.servers(console(request).central, session.token)
    if len(found) == 1:
        return redirect(request, f"/caching/servers/{found[0].id}")
    return render(request, "caching_servers.html", session, servers=found)


def server_page(
    request: Request, session: Session, server_id: int, status: int = 200, **extra: Any
) -> Response:
    central = console(request).central
    view = caching.settings(central, session.token, server_id)
    stats: caching.StatsView | None = None
    stats_error = ""
    try:
        stats = caching.stats(central, session.token, server_id)
    except ApiError as exc:  # the settings are shown even when Unbound does not answer
        stats_error = in_words(exc)
    context: dict[str, Any] = {
        "server_id": server_id,
        "server_name": view.server_name,
        "stats": stats,
        "stats_error": stats_error,
        "hit_ratio": caching.hit_ratio(stats) if stats else "",
        "values": caching.form_values(view.settings),
        "errors": FormErrors(),
        "flush_values": {"name": "", "zone": "", "type": "", "negative": "", "comment": ""},
        "flush_errors": FormErrors(),
        "flushed": "",
        "zone_types": caching.ZONE_TYPES,
        "actions": caching.ACTIONS,
        "error": "",
    }
    context.update(extra)
    return render(request, "caching.html", session, status, **context)


@router.get("/servers/{server_id}")
def caching_server(
    request: Request, session: CurrentSession, server_id: int = ServerId
) -> Response:
    return server_page(request, session, server_id)


@router.post("/servers/{server_id}/settings")
def save_settings(request: Request, write: WriteRequest, server_id: int = ServerId) -> Response:
    """The whole settings document, as the form shows it."""
    read = Reader(write.form)
    body = caching.read_settings(read)
    try:
        read.check()
        caching.set_settings(console(request).central, write.session.token, server_id, body,
                             write.comment)  # fmt: skip
    except (ApiError, FormInputError) as exc:
        errors = refusal(exc, caching.SETTINGS_FORM)
        shown = (*caching.LISTS, *caching.NUMBERS, *caching.DURATIONS, "comment")
        kept = {name: write.form.get(name, "") for name in shown}
        kept |= {name: "yes" if read.flag(name) else "" for name in caching.FLAGS}
        return server_page(request, write.session, server_id, status_of(exc), errors=errors,
                           values=kept, error=errors.banner)  # fmt: skip
    return redirect(request, f"/caching/servers/{server_id}?done=caching-saved")


@router.post("/servers/{server_id}/flush")
def flush(request: Request, write: WriteRequest, server_id: int = ServerId) -> Response:
    """Remove a name (or every name at and below it) from the cache."""
    read = Reader(write.form)
    body = {"name": read.text("name"), "zone": read.flag("zone"),
            "type": read.text("type").upper() or None, "negative": read.flag("negative"),
            "comment": write.comment}  # fmt: skip
    try:
        done = caching.flush(console(request).central, write.session.token, server_id, body)
    except ApiError as exc:
        errors = refusal(exc, caching.FLUSH_FORM)
        kept = {"name": write.get("name"), "zone": "yes" if body["zone"] else "",
                "type": write.get("type"), "negative": "yes" if body["negative"] else "",
                "comment": write.comment}  # fmt: skip
        return server_page(request, write.session, server_id, status_of(exc),
                           flush_errors=errors, flush_values=kept, error=errors.banner)  # fmt: skip
    what = "every name at and below" if done.flushed.zone else ""
    if body["type"]:
        what = f"the {body['type']} records of"
    said = f"Flushed {what} {done.flushed.name}: {done.flushed.detail}".replace("  ", " ")
    return server_page(request, write.session, server_id, flushed=said)
