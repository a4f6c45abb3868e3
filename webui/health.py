"""The dashboard's health: what the daemons themselves say, not what the agents last reported.

- DNS: named's statistics channel answered the monitor program's last collection (every 5 s);
- DHCP: Kea answered Central's statistics request just now (through the dhcp-agent);
- caching (a caching appliance): Unbound answered Central's statistics request just now;
- backups: the newest backup at the peer is younger than the monitoring threshold
  (``backup_overdue_hours``) and the last attempt did not fail;
- certificates: none expires within ``certificate_days``;
- the clock, and the monitor's own figures being fresh.

Each check is ``ok``, ``warn`` or ``bad`` with a sentence and a link to where it is fixed; the
dashboard lists those that are not ``ok`` under "Needs attention".
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from services.common.figures import Figures
from webui import caching
from webui.central import ApiError, Central
from webui.forms import in_words

#: The monitor collects every 5 s: older figures mean it has stopped.
STALE_SECONDS = 30
#: How often the dashboard asks again (seconds).
POLL_SECONDS = 5
LEVELS = {"ok": 0, "info": 0, "warn": 1, "bad": 2}


@dataclass(frozen=True)
class Check:
    """One health check of the dashboard."""

    key: str
    label: str
    level: str  # ok, info, warn, bad
    detail: str
    link: str
    link_text: str

    @property
    def icon(self) -> str:
        return {"ok": "✓", "info": "i", "warn": "!", "bad": "✕"}[self.level]

    @property
    def word(self) -> str:
        return {"ok": "OK", "info": "Note", "warn": "Warning", "bad": "Problem"}[self.level]


def _hours(seconds: int) -> str:
    if seconds < 3600:
        return f"{max(1, seconds // 60)} min"
    if seconds < 2 * 86400:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} days"


def dns_check(figures: Figures | None, now: float) -> Check:
    label, link = "DNS server (named)", "/servers"
    if figures is None:
        return Check("dns", label, "warn", "The monitor program has not reported yet.", link,
                     "Servers")  # fmt: skip
    age = now - figures.collected_at
    if age > STALE_SECONDS:
        return Check("dns", label, "warn",
                     f"The monitor program last reported {int(age)} s ago: named's state is "
                     "not known.", link, "Servers")  # fmt: skip
    if figures.dns.available:
        return Check("dns", label, "ok", "named is answering.", link, "Servers")
    state = next((p.state for p in figures.programs if p.name == "named"), "")
    why = f" (supervisord: {state})" if state and state != "RUNNING" else ""
    return Check("dns", label, "bad", f"named is not answering{why}: no name is resolved "
                 "by this appliance.", link, "Servers")  # fmt: skip


def caching_check(central: Central, token: str) -> Check:
    """Unbound answered Central's statistics request just now (through the dns-agent)."""
    label, link = "Caching DNS server (Unbound)", "/caching"
    try:
        servers = caching.servers(central, token)
    except ApiError as exc:
        return Check("caching", label, "warn", in_words(exc), link, "Caching")
    failed = []
    for server in servers:
        try:
            caching.stats(central, token, server.id)
        except ApiError:
            failed.append(server.name)
    if failed:
        return Check("caching", label, "bad", f"Unbound is not answering on {', '.join(failed)}: "
                     "no name is resolved there.", link, "Caching")  # fmt: skip
    return Check("caching", label, "ok", "Unbound is answering.", link, "Caching")


def dhcp_check(central: Central, token: str) -> Check:
    label, link = "DHCP server (Kea)", "/dhcp"
    try:
        servers = central.dhcp_servers(token)
    except ApiError as exc:
        return Check("dhcp", label, "warn", in_words(exc), link, "DHCP")
    if not servers:
        return Check("dhcp", label, "info", "No DHCP server is registered.", "/servers",
                     "Servers")  # fmt: skip
    failed = []
    for server in servers:
        try:
            central.statistics(token, f"/dhcp/servers/{server.id}/v4")
        except ApiError:
            failed.append(server.name)
    if failed:
        return Check("dhcp", label, "bad", f"Kea is not answering on {', '.join(failed)}: no "
                     "address is leased.", link, "DHCP")  # fmt: skip
    return Check("dhcp", label, "ok", "Kea is answering.", link, "DHCP")


def backup_check(figures: Figures | None, overdue_hours: int) -> Check:
    label, link = "Backups", "/appliance#backups"
    if figures is None:
        return Check("backup", label, "warn", "The monitor program has not reported yet.", link,
                     "Appliance")  # fmt: skip
    backup = figures.backup
    if not backup.paired:
        return Check("backup", label, "warn", "Not configured: no backup is sent to a peer "
                     "Central.", "/appliance#peer", "Pair with a peer")  # fmt: skip
    if backup.last_error:
        return Check("backup", label, "bad", f"The last backup failed: {backup.last_error}",
                     link, "Appliance")  # fmt: skip
    if backup.age_seconds is None:
        return Check("backup", label, "warn", "No backup has reached the peer yet.", link,
                     "Appliance")  # fmt: skip
    if backup.age_seconds > overdue_hours * 3600:
        return Check("backup", label, "bad", f"The newest backup is {_hours(backup.age_seconds)} "
                     f"old (more than {overdue_hours} h).", link, "Appliance")  # fmt: skip
    waiting = ""
    if backup.changes_not_at_peer:
        waiting = f"; {backup.changes_not_at_peer} change(s) not yet at the peer"
    return Check("backup", label, "ok",
                 f"Current: the newest is {_hours(backup.age_seconds)} old{waiting}.", link,
                 "Appliance")  # fmt: skip


def certificate_check(figures: Figures | None, days: int) -> Check:
    label, link = "Certificates", "/appliance"
    if figures is None or not figures.certificates:
        return Check("certificates", label, "warn", "No certificate figures yet.", link,
                     "Appliance")  # fmt: skip
    soonest = min(figures.certificates, key=lambda c: c.days_left)
    if soonest.days_left < 0:
        return Check("certificates", label, "bad", f"The {soonest.name} certificate has expired.",
                     link, "Appliance")  # fmt: skip
    if soonest.days_left <= days:
        return Check("certificates", label, "warn", f"The {soonest.name} certificate expires in "
                     f"{soonest.days_left} days.", link, "Appliance")  # fmt: skip
    return Check("certificates", label, "ok",
                 f"None expires within {days} days (the soonest in {soonest.days_left}).", link,
                 "Appliance")  # fmt: skip


def clock_check(figures: Figures | None) -> Check:
    label, link = "Clock (NTP)", "/settings/monitoring"
    if figures is None:
        return Check("clock", label, "info", "Not reported yet.", link, "Monitoring and time")
    clock = figures.time
    if not clock.configured:
        return Check("clock", label, "info", "No NTP server is set.", link, "Monitoring and time")
    if not clock.synchronised:
        return Check("clock", label, "warn", f"Not synchronised ({clock.sources} source(s)).",
                     link, "Monitoring and time")  # fmt: skip
    return Check("clock", label, "ok", f"Synchronised to {clock.reference}.", link,
                 "Monitoring and time")  # fmt: skip


def health(
    central: Central, token: str, kinds: frozenset[str] = frozenset({"dns", "dhcp"})
) -> dict[str, Any]:
    """Every check (DNS, DHCP and caching for the kinds of server Central manages), the worst
    level and those that need attention."""
    try:
        figures: Figures | None = central.figures(token)
    except ApiError:
        figures = None
    thresholds: dict[str, Any] = {}
    try:
        thresholds = dict(central.monitoring(token).get("thresholds") or {})
    except ApiError:
        pass
    checks = [
        *([dns_check(figures, time.time())] if "dns" in kinds else []),
        *([caching_check(central, token)] if "caching" in kinds else []),
        *([dhcp_check(central, token)] if "dhcp" in kinds else []),
        backup_check(figures, int(thresholds.get("backup_overdue_hours", 26))),
        certificate_check(figures, int(thresholds.get("certificate_days", 30))),
        clock_check(figures),
    ]
    worst = max(checks, key=lambda c: LEVELS[c.level]).level
    overall = {"bad": "bad", "warn": "warn"}.get(worst, "ok")
    return {
        "checks": checks,
        "overall": overall,
        "attention": [c for c in checks if LEVELS[c.level] > 0],
        "poll": POLL_SECONDS,
    }
