"""The dashboard: health and what needs attention (asked again every few seconds), servers
and programs, recent crashes, counts, DHCP utilisation, backups."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from markupsafe import Markup

from webui.central import ApiError, Central, SessionGoneError
from webui.charts import Bar, bar_chart
from webui.health import health
from webui.models import ScopeUsage, ServiceEvent
from webui.pages.appliance import backup_summary
from webui.pages.auth import login_page
from webui.session import Session
from webui.web import console, kinds_of, render, server_kinds, session_or_none

router = APIRouter()


def utilisation_bars(stats: list[ScopeUsage], family: str) -> list[Bar]:
    """One bar per scope from Central's DHCP statistics."""
    bars = []
    for item in stats:
        fraction = item.utilisation
        if fraction > 1:  # a percentage
            fraction /= 100
        label = item.subnet or str(item.subnet_id)
        if family == "v6":
            label += " (v6)"
        bars.append(Bar(label, fraction, f"{item.assigned} / {item.total} ({fraction:.0%})"))
    return bars


def recent_restarts(events: list[ServiceEvent], now: dt.datetime, hours: int = 24) -> Counter[str]:
    """Unexpected exits and FATALs per program within the last ``hours``."""
    counts: Counter[str] = Counter()
    horizon = now - dt.timedelta(hours=hours)
    for event in events:
        if event.is_alert:
            continue
        try:
            when = dt.datetime.fromisoformat(event.time)
        except ValueError:
            continue
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        if when >= horizon:
            counts[event.program] += 1
    return counts


def _total(central: Central, token: str, path: str) -> int | None:
    try:
        return central.total(token, path)
    except ApiError:
        return None


def clock_summary(central: Central, token: str) -> str:
    """One sentence on the clock (chrony), or why there is none."""
    try:
        clock = central.figures(token).time
    except ApiError:
        return "The monitor program has not reported the clock yet."
    if not clock.configured:
        return "No NTP server is set: the clock is not synchronised by NTP."
    if not clock.synchronised:
        return f"Not synchronised ({clock.sources} NTP source(s) known)."
    offset = clock.offset_seconds * 1000
    return f"Synchronised to {clock.reference} (offset {offset:+.3f} ms, {clock.sources} sources)."


def dashboard_context(central: Central, session: Session) -> dict[str, Any]:
    token = session.token
    events = central.service_events(token, limit=200)
    servers = central.servers(token)
    kinds = kinds_of(servers)
    bars: list[Bar] = []
    scopes = 0
    for server in central.dhcp_servers(token) if "dhcp" in kinds else []:
        for family in ("v4", "v6"):
            try:
                stats = central.statistics(token, f"/dhcp/servers/{server.id}/{family}")
            except ApiError:
                continue  # an unreachable DHCP server: shown by its state above
            scopes += len(stats)
            bars.extend(utilisation_bars(stats, family))
    counts: dict[str, int | None] = {}
    if "dns" in kinds:
        counts["DNS zones"] = _total(central, token, "/dns/zones")
        counts["DNS records"] = _total(central, token, "/dns/records")
    if "dhcp" in kinds:
        counts["DHCP scopes"] = scopes
    if "caching" in kinds:
        counts["Caching DNS servers"] = sum(1 for s in servers if s.kind == "caching")
    counts["Users"] = _total(central, token, "/users")
    counts["Changes in the history"] = _total(central, token, "/history")
    now = dt.datetime.now(dt.UTC)
    return {
        "servers": servers,
        "kinds": kinds,
        "events": [e for e in events if not e.is_alert][:15],
        "alerts": [e for e in events if e.is_alert][:15],
        "restarts": sorted(recent_restarts(events, now).items()),
        "counts": counts,
        "chart": Markup(bar_chart(bars, title="DHCP utilisation per scope")),  # noqa: S704 - escaped inside
        "chart_empty": not bars,
        "backup": backup_summary(central, session),
        "clock": clock_summary(central, token),
        "health": health(central, token, kinds),
        "checked_at": now.isoformat(timespec="seconds"),
    }


@router.get("/")
def dashboard(request: Request) -> Response:
    app = console(request)
    session = session_or_none(request)
    if session is None:
        return login_page(request)
    return render(request, "dashboard.html", session, **dashboard_context(app.central, session))


def _fragment_session(request: Request) -> Session | None:
    try:
        return session_or_none(request)
    except SessionGoneError:
        return None


def _ended() -> Response:
    """A poll after the session ended: the whole page goes to the login (htmx follows)."""
    return Response(status_code=204, headers={"HX-Redirect": "/login?done=expired"})


@router.get("/dashboard/health")
def health_fragment(request: Request) -> Response:
    """The health card alone, for the dashboard's polling (htmx ``every 5s``)."""
    session = _fragment_session(request)
    if session is None:
        return _ended()
    central = console(request).central
    checked_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    return render(request, "dashboard_health.html", session,
                  health=health(central, session.token, server_kinds(request, session)),
                  checked_at=checked_at)  # fmt: skip


@router.get("/dashboard/backup")
def backup_fragment(request: Request) -> Response:
    """The backup summary alone, for the dashboard's polling."""
    session = _fragment_session(request)
    if session is None:
        return _ended()
    backup = backup_summary(console(request).central, session)
    return render(request, "dashboard_backup.html", session, backup=backup)
