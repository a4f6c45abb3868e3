"""DHCP: scopes with their utilisation, pools and reservations; server options, client
classes and lease search. The server and address family are chosen in the query string
(``server``, ``family``); the first DHCP server and IPv4 by default.

Scopes and options are changed by sending them back whole (Central's PUT): the console reads
them with the shared models (``services.common.dhcp.contract``) and sends them back as they
came, with the one change the form asks for.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from services.common.dhcp.contract import Lease
from services.common.dhcp.options import OPTION_TYPES
from webui.central import ApiError, Central
from webui.forms import (
    FormErrors,
    FormInputError,
    Placement,
    Reader,
    format_duration,
    in_words,
    refusal,
    status_of,
)
from webui.models import DhcpServer, HaPair, ScopeAnswer, ScopeUsage
from webui.paging import Pager, clamp_offset, query
from webui.session import Session
from webui.web import CurrentSession, Write, WriteRequest, console, redirect, render, values

router = APIRouter(prefix="/dhcp")

ScopeId = Path(ge=1, le=4294967294)
LEASE_TERMS = ("address", "hw_address", "hostname", "client_id", "duid")
RESERVATION_KINDS = ("hw_address", "client_id", "duid")

#: Where Central's problems land on each form.
SCOPE_FORM = Placement.same(
    "subnet", "comment",
    fields={"pools[].start": "start", "pools[].end": "end", "options[]": "routers"},
)  # fmt: skip
RESERVATION_FORM = Placement.same(
    "hw_address", "duid", "hostname", "comment",
    fields={"ip_addresses": "ip_addresses", "ip_addresses[]": "ip_addresses"},
    entries={"ip_addresses": "address"},
)  # fmt: skip
DEFINITION_FORM = Placement.same("code", "name", "type", "space", "record_types", "comment")
CLASS_FORM = Placement.same(
    "name", "test", "comment", fields={"class_name": "name", "options[]": "options"},
    entries={"options": "option"},
)  # fmt: skip
LEASE_FORM = Placement.same("address", "hw_address", "duid", "hostname")
#: A scope's lease times, in the order the settings form shows them.
LIFETIMES = ("valid_lifetime", "renew_timer", "rebind_timer", "preferred_lifetime")
SETTINGS_FORM = Placement.same(
    *LIFETIMES, "client_class", "comment", fields={"options[]": "options"},
    entries={"options": "option"},
)  # fmt: skip
RESERVATION_EDIT = Placement.same(
    "hostname", "comment", "client_classes",
    fields={"ip_addresses": "ip_addresses", "ip_addresses[]": "ip_addresses",
            "options[]": "options", "client_classes[]": "client_classes"},
    entries={"ip_addresses": "address", "options": "option"},
)  # fmt: skip
#: Kea's lease states in words (DHCPv4 and DHCPv6 alike).
LEASE_STATES = {0: "assigned", 1: "declined", 2: "expired and reclaimed"}
LEASES_A_PAGE = 50
#: The longest lease time Kea takes (32 bits of seconds).
MAX_LIFETIME = 2**32 - 1


def pool_form(index: int) -> Placement:
    """The pool form: its pool is the scope's ``index``-th; the others' problems go on top."""
    pool = f"pools[{index}]"
    return Placement.same(
        "comment", fields={f"{pool}.start": "start", f"{pool}.end": "end",
                           f"{pool}.client_class": "client_class", f"{pool}.options": "options",
                           f"{pool}.options[]": "options"},
        entries={"options": "option"},
    )  # fmt: skip


def option_form(index: int) -> Placement:
    """The option form: its option is the ``index``-th of the list sent back."""
    new = f"options[{index}]"
    return Placement.same(
        "comment",
        fields={new: "option", f"{new}.name": "option", f"{new}.code": "option",
                f"{new}.data": "data", f"{new}.space": "space"},
    )  # fmt: skip


@dataclass(frozen=True)
class Where:
    """Which DHCP server and family a page is about."""

    servers: list[DhcpServer]
    server_id: int
    family: str

    @property
    def base(self) -> str:
        return f"/dhcp/servers/{self.server_id}/{self.family}"

    @property
    def qs(self) -> str:
        return f"server={self.server_id}&family={self.family}"

    @property
    def params(self) -> dict[str, str]:
        return {"server": str(self.server_id), "family": self.family}


def where(central: Central, session: Session, params: dict[str, str]) -> Where:
    servers = central.dhcp_servers(session.token)
    family = "v6" if params.get("family") == "v6" else "v4"
    ids = [s.id for s in servers]
    try:
        chosen = int(params.get("server", ""))
    except ValueError:
        chosen = 0
    if chosen not in ids:
        chosen = ids[0] if ids else 0
    return Where(servers, chosen, family)


def scope_body(scope: ScopeAnswer) -> dict[str, Any]:
    """A scope as Central takes it back in a PUT: as it was read, unset members left out."""
    return scope.model_dump(mode="json", exclude_none=True)


def _page(request: Request, session: Session, name: str, status: int, **context: Any) -> Response:
    return render(request, name, session, status, **context)


# --- scopes ------------------------------------------------------------------------------
def scopes_page(request: Request, session: Session, status: int = 200, **extra: Any) -> Response:
    central = console(request).central
    at = where(central, session, dict(request.query_params) | extra.pop("params", {}))
    scopes: list[ScopeAnswer] = []
    usage: dict[int, ScopeUsage] = {}
    ha: HaPair | None = None
    if at.server_id:
        scopes = central.scopes(session.token, at.base)
        try:
            usage = {s.subnet_id: s for s in central.statistics(session.token, at.base)}
        except ApiError:
            usage = {}
        if at.family == "v4":  # Kea HA pairs are DHCPv4 only
            try:
                ha = central.ha_pair(session.token)
            except ApiError:
                ha = None
    context: dict[str, Any] = {
        "at": at, "scopes": scopes, "usage": usage, "ha": ha, "duration": format_duration,
        "errors": FormErrors(), "values": {}, "error": "",
    }  # fmt: skip
    context.update(extra)
    return _page(request, session, "dhcp_scopes.html", status, **context)


@router.get("")
def scopes(request: Request, session: CurrentSession) -> Response:
    return scopes_page(request, session)


def _at(request: Request, write: Write) -> Where:
    return where(console(request).central, write.session, write.form)


@router.post("/scopes")
def create_scope(request: Request, write: WriteRequest) -> Response:
    at = _at(request, write)
    body: dict[str, Any] = {"subnet": write.get("subnet"), "comment": write.comment}
    if write.get("start") or write.get("end"):
        body["pools"] = [{"start": write.get("start"), "end": write.get("end")}]
    if write.get("routers"):
        body["options"] = [{"name": "routers", "data": write.get("routers")}]
    try:
        scope = console(request).central.create_scope(write.session.token, at.base, body)
    except ApiError as exc:
        errors = refusal(exc, SCOPE_FORM)
        return scopes_page(
            request, write.session, exc.status, errors=errors, error=errors.banner,
            params=at.params,
            values=values(write.form, "subnet", "start", "end", "routers", "comment"),
        )  # fmt: skip
    return redirect(request, f"/dhcp/scopes/{scope.id}?{at.qs}&done=scope-created")


@router.post("/scopes/{scope_id}/delete")
def delete_scope(request: Request, write: WriteRequest, scope_id: int = ScopeId) -> Response:
    at = _at(request, write)
    console(request).central.delete_scope(write.session.token, at.base, scope_id, write.comment)
    return redirect(request, f"/dhcp?{at.qs}&done=scope-deleted")


# --- options written one a line ----------------------------------------------------------
def options_text(options: list[dict[str, Any]] | list[Any]) -> str:
    """Options one a line, ``NAME = DATA`` (a code where the option has no name)."""
    lines = []
    for option in options:
        o = option if isinstance(option, dict) else option.model_dump(exclude_none=True)
        key = o.get("name") or o.get("code")
        lines.append(f"{key} = {o.get('data', '')}")
    return "\n".join(lines)


def options_of(read: Reader, name: str, current: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The options of the text field ``name`` (``NAME = DATA`` a line, or a code for the
    name). An option kept from ``current`` (same name or code) keeps its other members (space,
    always send); a line that is not an option is a problem at the field."""
    kept = {str(o.get("name") or o.get("code")): o for o in current}
    kept |= {str(o["code"]): o for o in current if o.get("code") is not None}
    found: list[dict[str, Any]] = []
    for number, line in enumerate(read.text(name).splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, equals, data = line.partition("=")
        key = key.strip()
        if not equals or not key or " " in key:
            read.errors.at(
                name, f"line {number}: “{line.strip()[:40]}” is not an option: write its name "
                "(or code), an equals sign and its value, such as routers = 198.51.100.1.",
            )  # fmt: skip
            continue
        option = dict(kept.get(key, {}))
        option.pop("name" if key.isdigit() else "code", None)
        option["code" if key.isdigit() else "name"] = int(key) if key.isdigit() else key
        option["data"] = data.strip()
        found.append(option)
    return found


# --- one scope: settings, options, pools and reservations --------------------------------
def scope_page(
    request: Request, session: Session, scope_id: int, status: int = 200, **extra: Any
) -> Response:
    central = console(request).central
    at = where(central, session, dict(request.query_params) | extra.pop("params", {}))
    scope = central.scope(session.token, at.base, scope_id)
    settings = {name: format_duration(getattr(scope, name)) for name in LIFETIMES
                if getattr(scope, name) is not None}  # fmt: skip
    settings |= {"client_class": scope.client_class or "", "options": options_text(scope.options)}
    context: dict[str, Any] = {
        "at": at, "scope": scope, "failed": "", "errors": FormErrors(), "values": {},
        "error": "", "settings": settings, "duration": format_duration,
        "options_text": options_text,
    }  # fmt: skip
    context.update(extra)
    return _page(request, session, "dhcp_scope.html", status, **context)


@router.get("/scopes/{scope_id}")
def scope(request: Request, session: CurrentSession, scope_id: int = ScopeId) -> Response:
    return scope_page(request, session, scope_id)


def _replace_scope(request: Request, write: Write, at: Where, body: dict[str, Any]) -> None:
    console(request).central.replace_scope(
        write.session.token, at.base, int(body["id"]), body | {"comment": write.comment}
    )


def _scope_refused(
    request: Request, write: Write, at: Where, scope_id: int, exc: ApiError | FormInputError,
    failed: str, placement: Placement, *names: str,
) -> Response:  # fmt: skip
    """The scope page again with the form ``failed`` as it was sent and its problems."""
    errors = refusal(exc, placement)
    return scope_page(
        request, write.session, scope_id, status_of(exc), failed=failed, errors=errors,
        error=errors.banner, params=at.params, values=values(write.form, *names, "comment"),
    )  # fmt: skip


def _current(request: Request, write: Write, at: Where, scope_id: int) -> dict[str, Any]:
    return scope_body(console(request).central.scope(write.session.token, at.base, scope_id))


@router.post("/scopes/{scope_id}")
def save_scope(request: Request, write: WriteRequest, scope_id: int = ScopeId) -> Response:
    """The scope's settings: lease times, client class and options (the rest as it is)."""
    at = _at(request, write)
    current = _current(request, write, at, scope_id)
    read = Reader(write.form)
    for name in LIFETIMES:
        if name == "preferred_lifetime" and at.family == "v4":
            continue
        seconds = read.duration(name, example="1h30m")
        if seconds is not None and seconds > MAX_LIFETIME:
            longest = f"{format_duration(MAX_LIFETIME)} ({MAX_LIFETIME} seconds)"
            read.errors.at(name, f"{format_duration(seconds)} is too long: at most {longest}.")
            seconds = None
        if seconds is None:
            current.pop(name, None)
        else:
            current[name] = seconds
    current.pop("client_class", None)
    if read.text("client_class"):
        current["client_class"] = read.text("client_class")
    current["options"] = options_of(read, "options", current.get("options", []))
    try:
        read.check()
        _replace_scope(request, write, at, current)
    except (ApiError, FormInputError) as exc:
        return _scope_refused(request, write, at, scope_id, exc, "settings", SETTINGS_FORM,
                              *LIFETIMES, "client_class", "options")  # fmt: skip
    return redirect(request, f"/dhcp/scopes/{scope_id}?{at.qs}&done=scope-saved")


def _pool_of(read: Reader, write: Write, pool: dict[str, Any]) -> dict[str, Any]:
    """A pool from the form: its range, class and options (Kea's ``option-data`` of the pool,
    sent to the clients that get an address of it); what the form does not show is kept."""
    changed = pool | {"start": write.get("start"), "end": write.get("end")}
    changed.pop("client_class", None)
    if write.get("client_class"):
        changed["client_class"] = write.get("client_class")
    changed["options"] = options_of(read, "options", pool.get("options", []))
    if not changed["options"]:
        changed.pop("options")
    return changed


@router.post("/scopes/{scope_id}/pools")
def add_pool(request: Request, write: WriteRequest, scope_id: int = ScopeId) -> Response:
    at = _at(request, write)
    current = _current(request, write, at, scope_id)
    pools = list(current.get("pools", []))
    new = len(pools)
    read = Reader(write.form)
    current["pools"] = [*pools, _pool_of(read, write, {})]
    try:
        read.check()
        _replace_scope(request, write, at, current)
    except (ApiError, FormInputError) as exc:
        return _scope_refused(request, write, at, scope_id, exc, "pool", pool_form(new),
                              "start", "end", "client_class", "options")  # fmt: skip
    return redirect(request, f"/dhcp/scopes/{scope_id}?{at.qs}&done=scope-saved")


@router.post("/scopes/{scope_id}/pools/{index:int}")
def edit_pool(
    request: Request, write: WriteRequest, scope_id: int = ScopeId,
    index: int = Path(ge=0, le=9999),
) -> Response:  # fmt: skip
    """Change one pool (found by its place and its addresses as the form showed them)."""
    at = _at(request, write)
    current = _current(request, write, at, scope_id)
    pools = list(current.get("pools", []))
    shown = (write.get("was_start"), write.get("was_end"))
    if index >= len(pools) or (pools[index]["start"], pools[index]["end"]) != shown:
        raise ApiError.plain(
            409, "The pool was changed or removed meanwhile; nothing was changed. Look at the "
            "scope again and repeat the change.", "pool",
        )  # fmt: skip
    read = Reader(write.form)
    pools[index] = _pool_of(read, write, pools[index])
    current["pools"] = pools
    try:
        read.check()
        _replace_scope(request, write, at, current)
    except (ApiError, FormInputError) as exc:
        return _scope_refused(request, write, at, scope_id, exc, f"pool-{index}",
                              pool_form(index), "start", "end", "client_class",
                              "options")  # fmt: skip
    return redirect(request, f"/dhcp/scopes/{scope_id}?{at.qs}&done=scope-saved")


@router.post("/scopes/{scope_id}/pools/delete")
def delete_pool(request: Request, write: WriteRequest, scope_id: int = ScopeId) -> Response:
    at = _at(request, write)
    current = _current(request, write, at, scope_id)
    gone = (write.get("start"), write.get("end"))
    current["pools"] = [p for p in current.get("pools", []) if (p["start"], p["end"]) != gone]
    try:
        _replace_scope(request, write, at, current)
    except ApiError as exc:
        return scope_page(request, write.session, scope_id, exc.status, error=in_words(exc),
                          params=at.params)  # fmt: skip
    return redirect(request, f"/dhcp/scopes/{scope_id}?{at.qs}&done=scope-saved")


def _reservation_of(read: Reader, current: dict[str, Any]) -> dict[str, Any]:
    """A reservation's addresses, host name, options and classes from the form; what the form
    does not show kept from ``current``."""
    body = dict(current)
    for name in ("ip_addresses", "hostname", "options", "client_classes"):
        body.pop(name, None)
    if read.text("ip_addresses"):
        body["ip_addresses"] = read.text("ip_addresses").replace(",", " ").split()
    if read.text("hostname"):
        body["hostname"] = read.text("hostname")
    body["options"] = options_of(read, "options", current.get("options", []))
    classes = read.text("client_classes").replace(",", " ").split()
    if classes:
        body["client_classes"] = classes
    return body


@router.post("/scopes/{scope_id}/reservations")
def add_reservation(request: Request, write: WriteRequest, scope_id: int = ScopeId) -> Response:
    at = _at(request, write)
    read = Reader(write.form)
    ident = "duid" if at.family == "v6" else "hw_address"
    body = _reservation_of(read, {ident: write.get(ident) or None}) | {"comment": write.comment}
    try:
        read.check()
        console(request).central.add_reservation(write.session.token, at.base, scope_id, body)
    except (ApiError, FormInputError) as exc:
        placement = Placement(
            {**RESERVATION_FORM.fields, **RESERVATION_EDIT.fields},
            {**RESERVATION_FORM.entries, **RESERVATION_EDIT.entries},
        )  # fmt: skip
        return _scope_refused(request, write, at, scope_id, exc, "reservation", placement,
                              ident, "ip_addresses", "hostname", "options",
                              "client_classes")  # fmt: skip
    return redirect(request, f"/dhcp/scopes/{scope_id}?{at.qs}&done=reservation-added")


def _kind(write: Write) -> str:
    kind = write.get("kind")
    if kind not in RESERVATION_KINDS:
        raise ApiError.plain(422, "The reservation's identifier kind is not known.", "kind")
    return kind


@router.post("/scopes/{scope_id}/reservations/edit")
def edit_reservation(request: Request, write: WriteRequest, scope_id: int = ScopeId) -> Response:
    """Change a reservation's addresses, host name, options and classes (its identifier stays:
    another client is another reservation)."""
    at = _at(request, write)
    kind, value = _kind(write), write.get("value")
    scope_now = console(request).central.scope(write.session.token, at.base, scope_id)
    index = next((i for i, r in enumerate(scope_now.reservations)
                  if str(getattr(r, kind) or "") == value), None)  # fmt: skip
    if index is None:
        raise ApiError.plain(
            404, "The reservation was deleted meanwhile; nothing was changed.", "value"
        )
    current = scope_now.reservations[index].model_dump(mode="json", exclude_none=True)
    read = Reader(write.form)
    body = _reservation_of(read, current) | {"comment": write.comment}
    try:
        read.check()
        console(request).central.replace_reservation(
            write.session.token, at.base, scope_id, kind, value, body
        )
    except (ApiError, FormInputError) as exc:
        return _scope_refused(request, write, at, scope_id, exc, f"reservation-{index}",
                              RESERVATION_EDIT, "ip_addresses", "hostname", "options",
                              "client_classes")  # fmt: skip
    return redirect(request, f"/dhcp/scopes/{scope_id}?{at.qs}&done=reservation-saved")


@router.post("/scopes/{scope_id}/reservations/delete")
def delete_reservation(request: Request, write: WriteRequest, scope_id: int = ScopeId) -> Response:
    at = _at(request, write)
    console(request).central.delete_reservation(
        write.session.token, at.base, scope_id, _kind(write), write.get("value"), write.comment
    )
    return redirect(request, f"/dhcp/scopes/{scope_id}?{at.qs}&done=reservation-deleted")


# --- server options and client classes ---------------------------------------------------
def options_page(request: Request, session: Session, status: int = 200, **extra: Any) -> Response:
    central = console(request).central
    at = where(central, session, dict(request.query_params) | extra.pop("params", {}))
    context: dict[str, Any] = {
        "at": at, "options": [], "classes": [], "definitions": [],
        "errors": FormErrors(), "values": {}, "class_errors": FormErrors(), "class_values": {},
        "error": "", "def_errors": FormErrors(), "def_values": {"type": "string"},
        "option_types": [(t, t) for t in OPTION_TYPES],
        "times": {}, "time_errors": FormErrors(), "time_values": None,
    }  # fmt: skip
    if at.server_id:
        context["options"] = central.options(session.token, at.base)
        context["classes"] = central.classes(session.token, at.base)
        context["definitions"] = central.option_definitions(session.token, at.base)
        held = central.properties(session.token, at.base)
        context["times"] = {name: format_duration(int(held[name])) for name in LIFETIMES
                            if isinstance(held.get(name), int)}  # fmt: skip
    editing = request.query_params.get("edit", "")
    for known in context["classes"]:
        if known.name == editing:
            context["class_values"] = {"name": known.name, "test": known.test,
                                       "options": options_text(known.options)}  # fmt: skip
    context["editing"] = editing
    context.update(extra)
    return _page(request, session, "dhcp_options.html", status, **context)


@router.get("/options")
def options(request: Request, session: CurrentSession) -> Response:
    return options_page(request, session)


def option_of(read: Reader) -> dict[str, Any]:
    """One option from the form: by code when a number is given, else by name."""
    key = read.text("option")
    option: dict[str, Any] = {"data": read.text("data")}
    if key.isdigit():
        option["code"] = int(key)
    else:
        option["name"] = key or None
    if read.text("space"):
        option["space"] = read.text("space")
    option["always_send"] = read.flag("always_send")
    return option


def _current_options(request: Request, write: Write, at: Where) -> list[dict[str, Any]]:
    current = console(request).central.options(write.session.token, at.base)
    return [o.model_dump(mode="json", exclude_none=True) for o in current]


@router.post("/options")
def add_option(request: Request, write: WriteRequest) -> Response:
    at = _at(request, write)
    current = _current_options(request, write, at)
    try:
        console(request).central.replace_options(
            write.session.token, at.base, [*current, option_of(Reader(write.form))],
            write.comment,
        )  # fmt: skip
    except ApiError as exc:
        errors = refusal(exc, option_form(len(current)))
        return options_page(
            request, write.session, exc.status, errors=errors, error=errors.banner,
            params=at.params, values=values(write.form, "option", "data", "space", "comment"),
        )  # fmt: skip
    return redirect(request, f"/dhcp/options?{at.qs}&done=options-saved")


@router.post("/options/delete")
def delete_option(request: Request, write: WriteRequest) -> Response:
    at = _at(request, write)
    current = _current_options(request, write, at)
    index = Reader(write.form).whole("index", default=-1)
    kept = [o for i, o in enumerate(current) if i != index]
    try:
        console(request).central.replace_options(write.session.token, at.base, kept,
                                                 write.comment)  # fmt: skip
    except ApiError as exc:
        return options_page(request, write.session, exc.status, error=in_words(exc),
                            params=at.params)  # fmt: skip
    return redirect(request, f"/dhcp/options?{at.qs}&done=options-saved")


TIMES_FORM = Placement.same(*LIFETIMES, "comment")


@router.post("/properties")
def server_times(request: Request, write: WriteRequest) -> Response:
    """The server's lease times (those left empty stay as they are)."""
    at = _at(request, write)
    read = Reader(write.form)
    body: dict[str, Any] = {"comment": write.comment}
    for name in LIFETIMES:
        if name == "preferred_lifetime" and at.family == "v4":
            continue
        seconds = read.duration(name)
        if seconds is not None and seconds > MAX_LIFETIME:
            longest = f"{format_duration(MAX_LIFETIME)} ({MAX_LIFETIME} seconds)"
            read.errors.at(name, f"{format_duration(seconds)} is too long: at most {longest}.")
        elif seconds is not None:
            body[name] = seconds
    try:
        read.check()
        console(request).central.change_properties(write.session.token, at.base, body)
    except (ApiError, FormInputError) as exc:
        errors = refusal(exc, TIMES_FORM)
        return options_page(
            request, write.session, status_of(exc), time_errors=errors, error=errors.banner,
            params=at.params, time_values=values(write.form, *LIFETIMES, "comment"),
        )  # fmt: skip
    return redirect(request, f"/dhcp/options?{at.qs}&done=times-saved")


def definition_of(read: Reader) -> dict[str, Any]:
    """A custom option definition from the form (Central checks every field)."""
    body: dict[str, Any] = {
        "code": read.whole("code", example="224"),
        "name": read.text("name"),
        "type": read.text("type"),
        "array": read.flag("array"),
    }
    if read.text("space"):
        body["space"] = read.text("space")
    if read.text("record_types"):
        body["record_types"] = read.text("record_types")
    return body


@router.post("/option-definitions")
def add_definition(request: Request, write: WriteRequest) -> Response:
    at = _at(request, write)
    read = Reader(write.form)
    body = definition_of(read) | {"comment": write.comment}
    try:
        read.check()
        console(request).central.add_option_definition(write.session.token, at.base, body)
    except (ApiError, FormInputError) as exc:
        errors = refusal(exc, DEFINITION_FORM)
        return options_page(
            request, write.session, status_of(exc), def_errors=errors, error=errors.banner,
            params=at.params,
            def_values=values(write.form, "code", "name", "type", "space", "record_types",
                              "array", "comment"),
        )  # fmt: skip
    return redirect(request, f"/dhcp/options?{at.qs}&done=definition-added")


@router.post("/option-definitions/delete")
def delete_definition(request: Request, write: WriteRequest) -> Response:
    at = _at(request, write)
    read = Reader(write.form)
    space = read.text("space") or ("dhcp4" if at.family == "v4" else "dhcp6")
    code = read.whole("code")
    if code is None:
        raise ApiError.plain(422, "The option definition's code is not a number.", "code")
    console(request).central.delete_option_definition(
        write.session.token, at.base, space, code, write.comment
    )
    return redirect(request, f"/dhcp/options?{at.qs}&done=definition-deleted")


@router.post("/classes")
def put_class(request: Request, write: WriteRequest) -> Response:
    """Add a class or change one (what the form does not show kept as it is)."""
    at = _at(request, write)
    name = write.get("name")
    known = console(request).central.classes(write.session.token, at.base)
    current = next((c for c in known if c.name == name), None)
    body = current.model_dump(mode="json", exclude_none=True, by_alias=True) if current else {}
    read = Reader(write.form)
    body |= {"name": name, "test": write.get("test"), "comment": write.comment,
             "options": options_of(read, "options", body.get("options", []))}  # fmt: skip
    try:
        read.check()
        console(request).central.put_class(write.session.token, at.base, name or "-", body)
    except (ApiError, FormInputError) as exc:
        errors = refusal(exc, CLASS_FORM)
        return options_page(
            request, write.session, status_of(exc), class_errors=errors, error=errors.banner,
            params=at.params,
            class_values=values(write.form, "name", "test", "options", "comment"),
        )  # fmt: skip
    return redirect(request, f"/dhcp/options?{at.qs}&done=class-saved")


@router.post("/classes/delete")
def delete_class(request: Request, write: WriteRequest) -> Response:
    at = _at(request, write)
    console(request).central.delete_class(
        write.session.token, at.base, write.get("name"), write.comment
    )
    return redirect(request, f"/dhcp/options?{at.qs}&done=class-deleted")


# --- leases ------------------------------------------------------------------------------
def _ago(seconds: int) -> str:
    """A span in words, to the minute (to the second under a minute)."""
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} days {hours} h" if hours else f"{days} days"


def expires(epoch: int | None, now: float | None = None) -> tuple[str, str]:
    """When a lease ends, in words (``in 2 h 5 min``, ``5 min ago``) and as a UTC time."""
    if epoch is None:
        return "", ""
    at = dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    left = int(epoch - (dt.datetime.now(dt.UTC).timestamp() if now is None else now))
    return (f"in {_ago(left)}" if left >= 0 else f"{_ago(-left)} ago"), at


def lease_state(lease: Lease, now: float | None = None) -> str:
    """Kea's state code in words; an assigned lease past its end is "expired"."""
    now = dt.datetime.now(dt.UTC).timestamp() if now is None else now
    if lease.state in (None, 0) and lease.expires is not None and lease.expires < now:
        return "expired"
    if lease.state is None:
        return "assigned"
    return LEASE_STATES.get(lease.state, f"state {lease.state}")


@router.get("/leases")
def leases(request: Request, session: CurrentSession) -> Response:
    central = console(request).central
    params = dict(request.query_params)
    at = where(central, session, params)
    terms = {k: params[k].strip() for k in LEASE_TERMS if params.get(k, "").strip()}
    offset = clamp_offset(params.get("offset"), LEASES_A_PAGE)
    # The first page of every lease is read alone (Central reads the first 50 leases): counting
    # them all takes the longest, so the count comes after, in a fragment (``/leases/count``).
    # A search, a later page or ``count=yes`` (the link without JavaScript) counts at once.
    counted = bool(terms) or offset > 0 or params.get("count") == "yes"
    context: dict[str, Any] = {"leases": [], "total": 0, "errors": FormErrors(), "error": "",
                               "subnets": {}, "next_page": False}  # fmt: skip
    if at.server_id:
        try:
            count = {"count": "true"} if counted and not terms else {}
            answer = central.leases(session.token, at.base, limit=LEASES_A_PAGE, offset=offset,
                                    **terms, **count)  # fmt: skip
            context["leases"] = answer.items
            if counted:
                context["total"] = answer.total if answer.total is not None else len(answer.items)
            else:
                context |= {"total": None, "next_page": answer.next is not None}
            context["subnets"] = {s.id: s.subnet for s in central.scopes(session.token, at.base)}
        except ApiError as exc:
            errors = refusal(exc, LEASE_FORM)
            said = "The search was refused; the form below shows why." if errors.fields else ""
            context |= {"errors": errors, "error": said or in_words(exc)}
    base = {**at.params, **terms}
    return render(
        request, "dhcp_leases.html", session, 422 if context["error"] else 200,
        at=at, values=terms, searched=bool(terms), expires=expires, state=lease_state,
        pager=Pager(offset, LEASES_A_PAGE, context["total"] or 0), oob=False, count_error="",
        page_query=lambda **changes: query(base, **changes), **context,
    )  # fmt: skip


@router.get("/leases/count")
def lease_count(request: Request, session: CurrentSession) -> Response:
    """The count of every lease and the page numbers, for the first page's fragment (the first
    page was shown without them). Central keeps the count for the page jumps after it."""
    central = console(request).central
    at = where(central, session, dict(request.query_params))
    total: int | None = None
    error = ""
    if at.server_id:
        try:
            answer = central.leases(session.token, at.base, limit=1, count="true")
            total = answer.total
        except ApiError as exc:
            error = in_words(exc)
    return render(
        request, "dhcp_lease_count.html", session, at=at, total=total, count_error=error,
        searched=False, oob=True, next_page=False, pager=Pager(0, LEASES_A_PAGE, total or 0),
        page_query=lambda **changes: query(at.params, **changes),
    )  # fmt: skip


@router.post("/leases/release")
def release_lease(request: Request, write: WriteRequest) -> Response:
    """Delete a lease: its address is free again (the client asks anew at its next renewal)."""
    at = _at(request, write)
    address = write.get("address")
    back = query({**at.params, **{k: write.get(k) for k in LEASE_TERMS if write.get(k)}},
                 offset=write.get("offset"))  # fmt: skip
    console(request).central.delete_lease(write.session.token, at.base, address, write.comment)
    return redirect(request, f"/dhcp/leases?{back}&done=lease-released")
