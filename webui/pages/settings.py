"""The appliance's settings as Central keeps them (sync, health checks, sessions, logins)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from webui.central import ApiError
from webui.session import Session
from webui.web import CurrentSession, WriteRequest, console, redirect, render

router = APIRouter()

#: name -> (label, help); the values are whole numbers except backup_full_time.
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


def setting_value(name: str, raw: str) -> Any:
    """A whole number where the setting takes one (text otherwise, for Central to refuse
    naming the field)."""
    raw = raw.strip()
    if name == "backup_full_time":
        return raw
    if name == "backup_auto_approve":
        return {"true": True, "false": False}.get(raw.lower(), raw)
    try:
        return int(raw)
    except ValueError:
        return raw


def settings_page(request: Request, session: Session, status: int = 200, **extra: Any) -> Response:
    current = console(request).central.get("/settings", session.token)
    context: dict[str, Any] = {
        "settings": SETTINGS,
        "values": {
            k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in current.items()
        },
        "errors": {},
        "error": "",
    }
    context.update(extra)
    return render(request, "settings.html", session, status, **context)


@router.get("/settings")
def settings(request: Request, session: CurrentSession) -> Response:
    return settings_page(request, session)


@router.post("/settings")
def save_settings(request: Request, write: WriteRequest) -> Response:
    current = console(request).central.get("/settings", write.session.token)
    body: dict[str, Any] = {}
    for name in SETTINGS:
        old = current.get(name)
        before = str(old).lower() if isinstance(old, bool) else str(old)
        if name in write.form and write.get(name) != before:
            body[name] = setting_value(name, write.get(name))
    if not body:
        return redirect(request, "/settings?done=settings-saved")
    body["comment"] = write.comment
    try:
        console(request).central.patch("/settings", write.session.token, body)
    except ApiError as exc:
        shown = {k: write.get(k) for k in SETTINGS} | {"comment": write.comment}
        return settings_page(
            request, write.session, exc.status, errors=exc.errors, error=exc.detail, values=shown
        )
    return redirect(request, "/settings?done=settings-saved")
