"""The appliance's settings as Central keeps them (sync, health checks, sessions, logins)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from webui.central import ApiError
from webui.forms import FormErrors, FormInputError, Placement, Reader, refusal, status_of
from webui.session import Session
from webui.web import CurrentSession, WriteRequest, console, redirect, render

router = APIRouter()

#: name -> (label, help). A value is sent in the type Central gives it (number, true or false,
#: text); a setting Central has and this list lacks is not shown.
SETTINGS = {
    "sync_interval_seconds": ("DNS sync interval (s)", "How often DNS servers are compared"),
    "dhcp_sync_interval_seconds": ("DHCP sync interval (s)", "How often DHCP servers are compared"),
    "health_interval_seconds": ("Health check interval (s)", "How often agents are checked"),
    "session_lifetime_seconds": ("Session lifetime (s)", "How long a login lasts"),
    "login_max_failures": ("Failed logins before a lockout", ""),
    "login_lockout_seconds": ("Lockout (s)", "How long a locked-out login waits"),
    "backup_full_time": ("Daily full backup (HH:MM UTC)", "Used once backups are set up"),
    "backup_retention_days": ("Backup retention (days)", ""),
    "backup_safety_interval_seconds": (
        "Backup at least every (s)",
        "Catches what changes by itself, such as leases",
    ),
    "backup_detect_interval_seconds": (
        "Replacement check interval (s)",
        "How often paired appliances' addresses are asked who is there",
    ),
    "backup_auto_approve": (
        "Restore replacements without approval (true / false)",
        "Only a replacement set up with this Central's fingerprint accepts it",
    ),
}
FORM = Placement.same(*SETTINGS, "comment")


def setting_value(read: Reader, name: str, current: int | bool | str | None) -> Any:
    """The form's text for ``name`` in the type the setting has now: a whole number (for a
    time in seconds also a duration such as ``8h`` or ``1h30m``), true or false, or text
    (such as the daily backup time)."""
    if isinstance(current, bool):
        return read.truth(name, required=True)
    if isinstance(current, int) and name.endswith("_seconds"):
        return read.duration(name, required=True, example="8h")
    if isinstance(current, int):
        return read.whole(name, required=True)
    return read.text(name)


def shown(value: int | bool | str) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def settings_page(request: Request, session: Session, status: int = 200, **extra: Any) -> Response:
    current = console(request).central.settings(session.token)
    context: dict[str, Any] = {
        "settings": SETTINGS,
        "values": {k: shown(v) for k, v in current.items()},
        "errors": FormErrors(),
        "error": "",
    }
    context.update(extra)
    return render(request, "settings.html", session, status, **context)


@router.get("/settings")
def settings(request: Request, session: CurrentSession) -> Response:
    return settings_page(request, session)


@router.post("/settings")
def save_settings(request: Request, write: WriteRequest) -> Response:
    central = console(request).central
    current = central.settings(write.session.token)
    read = Reader(write.form)
    body: dict[str, Any] = {}
    for name in SETTINGS:
        old = current.get(name)
        if name in write.form and write.get(name) != (shown(old) if old is not None else ""):
            body[name] = setting_value(read, name, old)
    if not body:
        return redirect(request, "/settings?done=settings-saved")
    body["comment"] = write.comment
    try:
        read.check()
        central.change_settings(write.session.token, body)
    except (ApiError, FormInputError) as exc:
        errors = refusal(exc, FORM)
        typed = {k: write.get(k) for k in SETTINGS} | {"comment": write.comment}
        return settings_page(
            request, write.session, status_of(exc), errors=errors, error=errors.banner,
            values=typed,
        )  # fmt: skip
    return redirect(request, "/settings?done=settings-saved")
