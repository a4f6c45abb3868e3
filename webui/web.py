"""What every page of the console shares: templates, the session, CSRF checks, answers.

Templates are Jinja2 with ``StrictUndefined`` (a missing value is an error, not an empty
string) and autoescaping. Every write is a POST that must carry the session's CSRF token and,
when the browser sends one, an ``Origin`` of this console.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import jinja2
from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile

from webui.central import ApiError, Central, CentralDownError, SessionGoneError
from webui.forms import format_duration
from webui.models import Server
from webui.session import COOKIE, CookieSealer, Session

TEMPLATES = Path(__file__).resolve().parent / "templates"
MAX_UPLOAD = 16 * 1024 * 1024

#: Messages shown after a successful write (``?done=KEY``): never text from the URL itself.
DONE = {
    "zone-created": "The zone was created.",
    "zone-deleted": "The zone was deleted.",
    "zone-imported": "The zone was imported.",
    "zone-imported-left-out": "The zone was imported without the refused records, as asked; "
    "they are listed in the zone's history.",
    "record-added": "The record was added.",
    "record-saved": "The record was saved.",
    "record-deleted": "The record was deleted.",
    "dnssec-saved": "The zone's signing was changed; named applies it now.",
    "key-deleted": "The TSIG key was deleted.",
    "soa-saved": "The zone's SOA and default TTL were saved.",
    "zone-options-saved": "The zone's options were saved; named runs them now.",
    "dns-options-saved": "The DNS server's options were saved; named runs them now.",
    "caching-saved": "The settings were saved; Unbound runs them now.",
    "records-deleted": "The selected records were deleted.",
    "ttl-changed": "The TTL of the selected records was changed.",
    "scope-created": "The scope was created.",
    "scope-saved": "The scope was saved.",
    "scope-deleted": "The scope was deleted.",
    "reservation-added": "The reservation was added.",
    "reservation-saved": "The reservation was saved.",
    "reservation-deleted": "The reservation was deleted.",
    "lease-released": "The lease was released: its address is free again.",
    "options-saved": "The options were saved.",
    "times-saved": "The server's lease times were saved.",
    "class-saved": "The class was saved.",
    "class-deleted": "The class was deleted.",
    "definition-added": "The option definition was added.",
    "definition-deleted": "The option definition was deleted.",
    "ipam-block-created": "The block was created.",
    "ipam-block-saved": "The block was saved.",
    "ipam-block-deleted": "The block was deleted.",
    "ipam-range-created": "The range was created.",
    "ipam-range-saved": "The range was saved.",
    "ipam-range-deleted": "The range was deleted.",
    "ipam-claimed": "The address was claimed.",
    "ipam-released": "The claim was released.",
    "ipam-property-created": "The property was defined.",
    "ipam-property-saved": "The property was saved.",
    "ipam-property-deleted": "The property was deleted.",
    "ipam-profile-created": "The SNMP profile was created.",
    "ipam-profile-saved": "The SNMP profile was saved.",
    "ipam-profile-deleted": "The SNMP profile was deleted.",
    "ipam-schedule-created": "The discovery schedule was created; it runs within seconds.",
    "ipam-schedule-saved": "The discovery schedule was saved.",
    "ipam-schedule-deleted": "The discovery schedule was deleted.",
    "user-created": "The user was created.",
    "user-saved": "The user was saved.",
    "user-deleted": "The user was deleted.",
    "users-enabled": "The selected users were enabled.",
    "users-disabled": "The selected users were disabled.",
    "users-deleted": "The selected users were deleted.",
    "settings-saved": "The settings were saved.",
    "monitoring-saved": "The monitoring settings were saved; the appliance takes them at once.",
    "network-saved": "The network settings were applied.",
    "peer-paired": "Paired: backups go to the peer Central from now on, a full one first.",
    "peer-unpaired": "Unpaired: no more backups go to the peer (what it keeps stays there).",
    "backed-up": "Backed up: the snapshot is stored at the peer.",
    "initialized": "This appliance is in use as a new appliance; it accepts no restore.",
    "token-made": "The pairing token was made.",
    "peer-deleted": "The appliance and every backup kept for it were removed.",
    "peer-checked": "The appliance at that address was asked who it is.",
    "restore-started": "The restore has started.",
    "dismissed": "The replacement was dismissed.",
    "synced": "The server was synced.",
    "fleet-joined": "This appliance joined the fleet: its DNS and DHCP servers are managed by "
    "the managing Central from now on.",
    "fleet-left": "This appliance left the fleet: this Central manages its servers again.",
    "fleet-member-removed": "The appliance was removed from the fleet: its own Central "
    "manages its servers again.",
    "logged-out": "You are logged out.",
    "expired": "Your session has ended; log in again.",
    "disabled": "Your user was disabled by an administrator.",
    "revoked": "Your session was ended: you logged out elsewhere, or an administrator changed "
    "your password.",
}


#: The kinds of server as the console names them.
KIND_LABELS = {
    "dns": "DNS (BIND)",
    "dhcp": "DHCP (Kea)",
    "caching": "caching DNS (Unbound)",
    "appliance": "appliance",
}


class LoginNeededError(Exception):
    """The page needs a logged-in user and there is none."""


class CsrfRefusedError(Exception):
    """A write without this session's CSRF token, or from another origin."""


def make_templates() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["DONE"] = DONE
    env.globals["KIND_LABELS"] = KIND_LABELS
    env.filters["duration"] = format_duration
    return env


@dataclass
class Console:
    """The console's shared parts: Central's client, the cookie sealer, the templates."""

    central: Central
    sealer: CookieSealer
    templates: jinja2.Environment = field(default_factory=make_templates)
    #: (when asked, the managing Central's address or ""): see ``fleet_manager``.
    fleet: tuple[float, str] | None = None
    #: (when asked, the kinds of server Central manages): see ``server_kinds``.
    kinds: tuple[float, frozenset[str]] | None = None


def console(request: Request) -> Console:
    found: Console = request.app.state.console
    return found


def current_session(request: Request) -> Session:
    """The logged-in user of this request, or LoginNeededError.

    The role is Central's of now, not the one of the login: a role changed by an
    administrator takes effect at the user's next request, and a disabled user (or a revoked
    session) is logged out by it (Central answers 401: SessionGoneError).
    """
    known: Session | None = getattr(request.state, "session", None)
    if known is not None:
        return known
    app = console(request)
    session = app.sealer.open(request.cookies.get(COOKIE))
    if session is None or session.expired():
        raise LoginNeededError()
    user = app.central.me(session.token)
    if user.role != session.role:
        session = dataclasses.replace(session, role=user.role)
    request.state.session = session
    return session


def session_or_none(request: Request) -> Session | None:
    """The logged-in user, or None (for a page that shows the login form instead)."""
    try:
        return current_session(request)
    except LoginNeededError:
        return None


CurrentSession = Annotated[Session, Depends(current_session)]


def same_origin(request: Request) -> bool:
    """A browser's ``Origin`` (or ``Referer``), when sent, must be this console."""
    origin = request.headers.get("origin") or request.headers.get("referer")
    if not origin:
        return True
    host = request.headers.get("host", "")
    return urlsplit(origin).netloc == host


async def read_form(request: Request) -> dict[str, str]:
    """The posted fields; an uploaded file's text under its field's name."""
    data: dict[str, str] = {}
    form = await request.form()
    for key, value in form.multi_items():
        if isinstance(value, UploadFile):
            raw = await value.read(MAX_UPLOAD + 1)
            await value.close()
            if raw:
                data[key] = raw[:MAX_UPLOAD].decode("utf-8", errors="replace")
        elif key in data:
            data[key] += "\n" + value
        else:
            data[key] = value
    await form.close()
    return data


@dataclass(frozen=True)
class Write:
    """A checked write: the session, the posted fields, and the save comment."""

    session: Session
    form: dict[str, str]

    def get(self, name: str, default: str = "") -> str:
        return self.form.get(name, default).strip()

    @property
    def comment(self) -> str:
        return self.get("comment")


async def write_request(request: Request) -> Write:
    """A POST of a logged-in user carrying the session's CSRF token, or CsrfRefusedError."""
    session = current_session(request)
    form = await read_form(request)
    offered = request.headers.get("x-csrf-token") or form.get("csrf_token")
    if not same_origin(request) or not session.csrf_ok(offered):
        raise CsrfRefusedError()
    prompt = request.headers.get("hx-prompt")
    if prompt is not None and "comment" not in form:
        form["comment"] = prompt
    return Write(session, form)


WriteRequest = Annotated[Write, Depends(write_request)]


#: Seconds the console trusts what it last heard of the appliance's fleet membership.
FLEET_CHECK = 15.0


def fleet_manager(request: Request, session: Session | None) -> str:
    """The managing Central's address while this appliance is in a fleet ("" otherwise), for
    the note on every page that its DNS and DHCP servers are managed there (docs/fleet.md);
    asked of Central at most every ``FLEET_CHECK`` seconds, and never when it fails."""
    app = console(request)
    if session is None:
        return ""
    moment = time.monotonic()
    if app.fleet is not None and moment - app.fleet[0] < FLEET_CHECK:
        return app.fleet[1]
    try:
        found = app.central.fleet_membership(session.token)
        address = (found.address or "") if found.joined else ""
    except (ApiError, CentralDownError, SessionGoneError):  # the page says what is wrong
        address = ""
    app.fleet = (moment, address)
    return address


#: The main navigation: (link, label, the paths it is current for).
NAV = (
    ("/", "Dashboard", "/"),
    ("/dns/zones", "DNS", "/dns"),
    ("/dhcp", "DHCP", "/dhcp"),
    ("/caching", "Caching", "/caching"),
    ("/ipam", "IPAM", "/ipam"),
    ("/servers", "Servers", "/servers"),
    ("/fleet", "Fleet", "/fleet"),
    ("/history", "History", "/history"),
    ("/users", "Users", "/users"),
    ("/appliance", "Appliance", "/appliance"),
    ("/backups", "Backups", "/backups"),
    ("/settings", "Settings", "/settings"),
)
#: Entries offered only when Central manages a server of their kind.
SERVICE_NAV = {"/dns": "dns", "/dhcp": "dhcp", "/caching": "caching"}
#: What is offered while Central manages no DNS, DHCP or caching server (or cannot say).
UNKNOWN_KINDS = frozenset({"dns", "dhcp"})


def server_kinds(request: Request, session: Session | None) -> frozenset[str]:
    """The kinds of server Central manages (dns, dhcp, caching, appliance), asked of Central
    at most every ``FLEET_CHECK`` seconds; ``UNKNOWN_KINDS`` when it manages no DNS, DHCP or
    caching server or cannot be asked."""
    app = console(request)
    moment = time.monotonic()
    if app.kinds is not None and moment - app.kinds[0] < FLEET_CHECK:
        return app.kinds[1]
    if session is None:
        return UNKNOWN_KINDS
    try:
        kinds = kinds_of(app.central.servers(session.token))
    except (ApiError, CentralDownError, SessionGoneError):  # the page says what is wrong
        return UNKNOWN_KINDS
    app.kinds = (moment, kinds)
    return kinds


def kinds_of(servers: Iterable[Server]) -> frozenset[str]:
    """The kinds of ``servers``; with no DNS, DHCP or caching server among them, the DNS and
    DHCP of before (a Central whose agents are not registered yet)."""
    kinds = frozenset(s.kind for s in servers)
    if not kinds & set(SERVICE_NAV.values()):
        kinds |= UNKNOWN_KINDS
    return kinds


def navigation(kinds: frozenset[str]) -> list[tuple[str, str, str]]:
    """The main navigation for an appliance whose Central manages servers of ``kinds``: DNS
    zones, DHCP and Caching only where there is a server to use them on."""
    return [item for item in NAV if SERVICE_NAV.get(item[2], "") in {"", *kinds}]


def render(
    request: Request,
    name: str,
    session: Session | None,
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    template = console(request).templates.get_template(name)
    done = request.query_params.get("done", "")
    html = template.render(
        request=request,
        session=session,
        path=request.url.path,
        done=DONE.get(done, ""),
        fleet_manager=fleet_manager(request, session),
        nav=navigation(server_kinds(request, session)) if session is not None else [],
        **context,
    )
    return HTMLResponse(html, status_code=status)


def redirect(request: Request, target: str) -> Response:
    """Go to ``target`` (a path of the console) after a write or for a login."""
    if request.headers.get("hx-request") and not request.headers.get("hx-boosted"):
        return Response(status_code=204, headers={"HX-Location": target})
    return RedirectResponse(target, status_code=303)


def values(form: Mapping[str, str], *names: str) -> dict[str, str]:
    return {n: form.get(n, "") for n in names}
