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

from services.common.dhcp.options import OPTION_TYPES
from webui.central import ApiError, Central
from webui.forms import (
    FormErrors,
    FormInputError,
    Placement,
    Reader,
    in_words,
    refusal,
    status_of,
)
from webui.models import DhcpServer, ScopeAnswer, ScopeUsage
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
CLASS_FORM = Placement.same("name", "test", "comment", fields={"class_name": "name"})
LEASE_FORM = Placement.same("address", "hw_address", "duid", "hostname")


def pool_form(index: int) -> Placement:
    """The pool form: its pool is the scope's ``index``-th; the others' problems go on top."""
    return Placement.same(
        "comment", fields={f"pools[{index}].start": "start", f"pools[{index}].end": "end"}
    )


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
    if at.server_id:
        scopes = central.scopes(session.token, at.base)
        try:
            usage = {s.subnet_id: s for s in central.statistics(session.token, at.base)}
        except ApiError:
            usage = {}
    context: dict[str, Any] = {
        "at": at, "scopes": scopes, "usage": usage,
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


# --- one scope: pools and reservations --------------------------------------------------
def scope_page(
    request: Request, session: Session, scope_id: int, status: int = 200, **extra: Any
) -> Response:
    central = console(request).central
    at = where(central, session, dict(request.query_params) | extra.pop("params", {}))
    scope = central.scope(session.token, at.base, scope_id)
    context: dict[str, Any] = {
        "at": at, "scope": scope, "pool_errors": FormErrors(), "pool_values": {},
        "errors": FormErrors(), "values": {}, "error": "",
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


@router.post("/scopes/{scope_id}/pools")
def add_pool(request: Request, write: WriteRequest, scope_id: int = ScopeId) -> Response:
    at = _at(request, write)
    current = scope_body(console(request).central.scope(write.session.token, at.base, scope_id))
    pools = list(current.get("pools", []))
    new = len(pools)
    current["pools"] = [*pools, {"start": write.get("start"), "end": write.get("end")}]
    try:
        _replace_scope(request, write, at, current)
    except ApiError as exc:
        errors = refusal(exc, pool_form(new))
        return scope_page(
            request, write.session, scope_id, exc.status, pool_errors=errors,
            error=errors.banner, params=at.params,
            pool_values=values(write.form, "start", "end", "comment"),
        )  # fmt: skip
    return redirect(request, f"/dhcp/scopes/{scope_id}?{at.qs}&done=scope-saved")


@router.post("/scopes/{scope_id}/pools/delete")
def delete_pool(request: Request, write: WriteRequest, scope_id: int = ScopeId) -> Response:
    at = _at(request, write)
    current = scope_body(console(request).central.scope(write.session.token, at.base, scope_id))
    gone = (write.get("start"), write.get("end"))
    current["pools"] = [p for p in current.get("pools", []) if (p["start"], p["end"]) != gone]
    try:
        _replace_scope(request, write, at, current)
    except ApiError as exc:
        return scope_page(request, write.session, scope_id, exc.status, error=in_words(exc),
                          params=at.params)  # fmt: skip
    return redirect(request, f"/dhcp/scopes/{scope_id}?{at.qs}&done=scope-saved")


@router.post("/scopes/{scope_id}/reservations")
def add_reservation(request: Request, write: WriteRequest, scope_id: int = ScopeId) -> Response:
    at = _at(request, write)
    body: dict[str, Any] = {"comment": write.comment}
    ident = "duid" if at.family == "v6" else "hw_address"
    body[ident] = write.get(ident) or None
    if write.get("ip_addresses"):
        body["ip_addresses"] = write.get("ip_addresses").replace(",", " ").split()
    if write.get("hostname"):
        body["hostname"] = write.get("hostname")
    try:
        console(request).central.add_reservation(write.session.token, at.base, scope_id, body)
    except ApiError as exc:
        errors = refusal(exc, RESERVATION_FORM)
        return scope_page(
            request, write.session, scope_id, exc.status, errors=errors, error=errors.banner,
            params=at.params,
            values=values(write.form, ident, "ip_addresses", "hostname", "comment"),
        )  # fmt: skip
    return redirect(request, f"/dhcp/scopes/{scope_id}?{at.qs}&done=reservation-added")


@router.post("/scopes/{scope_id}/reservations/delete")
def delete_reservation(request: Request, write: WriteRequest, scope_id: int = ScopeId) -> Response:
    at = _at(request, write)
    kind = write.get("kind")
    if kind not in RESERVATION_KINDS:
        raise ApiError.plain(422, "The reservation's identifier kind is not known.", "kind")
    console(request).central.delete_reservation(
        write.session.token, at.base, scope_id, kind, write.get("value"), write.comment
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
    }  # fmt: skip
    if at.server_id:
        context["options"] = central.options(session.token, at.base)
        context["classes"] = central.classes(session.token, at.base)
        context["definitions"] = central.option_definitions(session.token, at.base)
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
    at = _at(request, write)
    name = write.get("name")
    body = {"name": name, "test": write.get("test"), "comment": write.comment}
    try:
        console(request).central.put_class(write.session.token, at.base, name or "-", body)
    except ApiError as exc:
        errors = refusal(exc, CLASS_FORM)
        return options_page(
            request, write.session, exc.status, class_errors=errors, error=errors.banner,
            params=at.params, class_values=values(write.form, "name", "test", "comment"),
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
def expires(epoch: int | None) -> str:
    """When a lease ends (Kea's seconds since 1970) in UTC."""
    if epoch is None:
        return ""
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


@router.get("/leases")
def leases(request: Request, session: CurrentSession) -> Response:
    central = console(request).central
    params = dict(request.query_params)
    at = where(central, session, params)
    terms = {k: params[k].strip() for k in LEASE_TERMS if params.get(k, "").strip()}
    context: dict[str, Any] = {"leases": [], "total": 0, "errors": FormErrors(), "error": ""}
    if at.server_id:
        try:
            answer = central.leases(session.token, at.base, limit=200, **terms)
            context["leases"] = answer.items
            context["total"] = answer.total if answer.total is not None else len(answer.items)
        except ApiError as exc:
            errors = refusal(exc, LEASE_FORM)
            said = "The search was refused; the form below shows why." if errors.fields else ""
            context |= {"errors": errors, "error": said or in_words(exc)}
    return render(
        request, "dhcp_leases.html", session, 422 if context["error"] else 200,
        at=at, values=terms, searched=bool(terms), expires=expires, **context,
    )  # fmt: skip
