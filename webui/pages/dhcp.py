"""DHCP: scopes with their utilisation, pools and reservations; server options, client
classes and lease search. The server and address family are chosen in the query string
(``server``, ``family``); the first DHCP server and IPv4 by default."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from services.common.dhcp.options import OPTION_TYPES
from webui.central import ApiError, Central
from webui.session import Session
from webui.web import CurrentSession, Write, WriteRequest, console, redirect, render, values

router = APIRouter(prefix="/dhcp")

SCOPE_BODY = (
    "subnet", "id", "pools", "relay_addresses", "shared_network", "interface", "client_class",
    "valid_lifetime", "min_valid_lifetime", "max_valid_lifetime", "preferred_lifetime",
    "renew_timer", "rebind_timer", "options", "reservations",
)  # fmt: skip
ScopeId = Path(ge=1, le=4294967294)
LEASE_TERMS = ("address", "hw_address", "hostname", "client_id", "duid")


@dataclass(frozen=True)
class Where:
    """Which DHCP server and family a page is about."""

    servers: list[dict[str, Any]]
    server_id: int
    family: str

    @property
    def base(self) -> str:
        return f"/dhcp/servers/{self.server_id}/{self.family}"

    @property
    def qs(self) -> str:
        return f"server={self.server_id}&family={self.family}"


def where(central: Central, session: Session, params: dict[str, str]) -> Where:
    servers = list(central.get("/dhcp/servers", session.token)["items"])
    family = "v6" if params.get("family") == "v6" else "v4"
    ids = [int(s["id"]) for s in servers]
    try:
        chosen = int(params.get("server", ""))
    except ValueError:
        chosen = 0
    if chosen not in ids:
        chosen = ids[0] if ids else 0
    return Where(servers, chosen, family)


def scope_body(scope: dict[str, Any]) -> dict[str, Any]:
    """The part of a scope Central takes back in a PUT."""
    return {k: v for k, v in scope.items() if k in SCOPE_BODY and v is not None}


def _page(request: Request, session: Session, name: str, status: int, **context: Any) -> Response:
    return render(request, name, session, status, **context)


# --- scopes ------------------------------------------------------------------------------
def scopes_page(request: Request, session: Session, status: int = 200, **extra: Any) -> Response:
    central = console(request).central
    at = where(central, session, dict(request.query_params) | extra.pop("params", {}))
    scopes: list[dict[str, Any]] = []
    usage: dict[int, dict[str, Any]] = {}
    if at.server_id:
        scopes = central.get(at.base + "/scopes", session.token, limit=1000)["items"]
        try:
            stats = central.get(at.base + "/statistics", session.token)["items"]
            usage = {int(s["subnet_id"]): s for s in stats}
        except ApiError:
            usage = {}
    context: dict[str, Any] = {
        "at": at, "scopes": scopes, "usage": usage,
        "errors": {}, "values": {}, "error": "",
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
        scope = console(request).central.post(at.base + "/scopes", write.session.token, body)
    except ApiError as exc:
        errors = dict(exc.errors)
        if "data" in errors:
            errors["routers"] = errors.pop("data")
        return scopes_page(
            request, write.session, exc.status, errors=errors, error=exc.detail,
            params={"server": str(at.server_id), "family": at.family},
            values=values(write.form, "subnet", "start", "end", "routers", "comment"),
        )  # fmt: skip
    return redirect(request, f"/dhcp/scopes/{scope.get('id')}?{at.qs}&done=scope-created")


@router.post("/scopes/{scope_id}/delete")
def delete_scope(request: Request, write: WriteRequest, scope_id: int = ScopeId) -> Response:
    at = _at(request, write)
    console(request).central.delete(
        f"{at.base}/scopes/{scope_id}", write.session.token, comment=write.comment
    )
    return redirect(request, f"/dhcp?{at.qs}&done=scope-deleted")


# --- one scope: pools and reservations --------------------------------------------------
def scope_page(
    request: Request, session: Session, scope_id: int, status: int = 200, **extra: Any
) -> Response:
    central = console(request).central
    at = where(central, session, dict(request.query_params) | extra.pop("params", {}))
    scope = central.get(f"{at.base}/scopes/{scope_id}", session.token)
    context: dict[str, Any] = {
        "at": at, "scope": scope, "pool_errors": {}, "pool_values": {},
        "errors": {}, "values": {}, "error": "",
    }  # fmt: skip
    context.update(extra)
    return _page(request, session, "dhcp_scope.html", status, **context)


@router.get("/scopes/{scope_id}")
def scope(request: Request, session: CurrentSession, scope_id: int = ScopeId) -> Response:
    return scope_page(request, session, scope_id)


def _put_scope(request: Request, write: Write, at: Where, scope: dict[str, Any]) -> None:
    body = scope_body(scope) | {"comment": write.comment}
    console(request).central.put(f"{at.base}/scopes/{scope['id']}", write.session.token, body)


@router.post("/scopes/{scope_id}/pools")
def add_pool(request: Request, write: WriteRequest, scope_id: int = ScopeId) -> Response:
    at = _at(request, write)
    current = console(request).central.get(f"{at.base}/scopes/{scope_id}", write.session.token)
    current["pools"] = [*current.get("pools", []), {"start": write.get("start"),
                                                    "end": write.get("end")}]  # fmt: skip
    try:
        _put_scope(request, write, at, current)
    except ApiError as exc:
        return scope_page(
            request, write.session, scope_id, exc.status, pool_errors=exc.errors, error=exc.detail,
            params={"server": str(at.server_id), "family": at.family},
            pool_values=values(write.form, "start", "end", "comment"),
        )  # fmt: skip
    return redirect(request, f"/dhcp/scopes/{scope_id}?{at.qs}&done=scope-saved")


@router.post("/scopes/{scope_id}/pools/delete")
def delete_pool(request: Request, write: WriteRequest, scope_id: int = ScopeId) -> Response:
    at = _at(request, write)
    current = console(request).central.get(f"{at.base}/scopes/{scope_id}", write.session.token)
    gone = (write.get("start"), write.get("end"))
    current["pools"] = [p for p in current.get("pools", []) if (p["start"], p["end"]) != gone]
    _put_scope(request, write, at, current)
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
        console(request).central.post(
            f"{at.base}/scopes/{scope_id}/reservations", write.session.token, body
        )
    except ApiError as exc:
        return scope_page(
            request, write.session, scope_id, exc.status, errors=exc.errors, error=exc.detail,
            params={"server": str(at.server_id), "family": at.family},
            values=values(write.form, ident, "ip_addresses", "hostname", "comment"),
        )  # fmt: skip
    return redirect(request, f"/dhcp/scopes/{scope_id}?{at.qs}&done=reservation-added")


@router.post("/scopes/{scope_id}/reservations/delete")
def delete_reservation(request: Request, write: WriteRequest, scope_id: int = ScopeId) -> Response:
    at = _at(request, write)
    kind = write.get("kind")
    if kind not in ("hw_address", "client_id", "duid"):
        raise ApiError(422, "The reservation's identifier kind is not known.", "kind")
    console(request).central.delete(
        f"{at.base}/scopes/{scope_id}/reservations/{kind}/{write.get('value')}",
        write.session.token, comment=write.comment,
    )  # fmt: skip
    return redirect(request, f"/dhcp/scopes/{scope_id}?{at.qs}&done=reservation-deleted")


# --- server options and client classes ---------------------------------------------------
def options_page(request: Request, session: Session, status: int = 200, **extra: Any) -> Response:
    central = console(request).central
    at = where(central, session, dict(request.query_params) | extra.pop("params", {}))
    options: list[dict[str, Any]] = []
    classes: list[dict[str, Any]] = []
    definitions: list[dict[str, Any]] = []
    if at.server_id:
        options = list(central.get(at.base + "/options", session.token))
        classes = central.get(at.base + "/classes", session.token, limit=1000)["items"]
        definitions = central.get(at.base + "/option-definitions", session.token,
                                  limit=1000)["items"]  # fmt: skip
    context: dict[str, Any] = {
        "at": at, "options": options, "classes": classes, "definitions": definitions,
        "errors": {}, "values": {}, "class_errors": {}, "class_values": {}, "error": "",
        "def_errors": {}, "def_values": {"type": "string"},
        "option_types": [(t, t) for t in OPTION_TYPES],
    }  # fmt: skip
    context.update(extra)
    return _page(request, session, "dhcp_options.html", status, **context)


@router.get("/options")
def options(request: Request, session: CurrentSession) -> Response:
    return options_page(request, session)


def option_of(form: dict[str, str]) -> dict[str, Any]:
    """One option from the form: by code when a number is given, else by name."""
    key = form.get("option", "").strip()
    option: dict[str, Any] = {"data": form.get("data", "").strip()}
    if key.isdigit():
        option["code"] = int(key)
    else:
        option["name"] = key or None
    if form.get("space", "").strip():
        option["space"] = form["space"].strip()
    option["always_send"] = form.get("always_send") == "yes"
    return option


@router.post("/options")
def add_option(request: Request, write: WriteRequest) -> Response:
    at = _at(request, write)
    central = console(request).central
    current = list(central.get(at.base + "/options", write.session.token))
    try:
        central.put(
            at.base + "/options",
            write.session.token,
            {"options": [*current, option_of(write.form)], "comment": write.comment},
        )
    except ApiError as exc:
        errors = dict(exc.errors)
        for name in ("name", "code"):
            if name in errors:
                errors["option"] = errors.pop(name)
        return options_page(
            request, write.session, exc.status, errors=errors, error=exc.detail,
            params={"server": str(at.server_id), "family": at.family},
            values=values(write.form, "option", "data", "space", "comment"),
        )  # fmt: skip
    return redirect(request, f"/dhcp/options?{at.qs}&done=options-saved")


@router.post("/options/delete")
def delete_option(request: Request, write: WriteRequest) -> Response:
    at = _at(request, write)
    central = console(request).central
    current = list(central.get(at.base + "/options", write.session.token))
    index = int(write.get("index") or -1)
    kept = [o for i, o in enumerate(current) if i != index]
    central.put(at.base + "/options", write.session.token,
                {"options": kept, "comment": write.comment})  # fmt: skip
    return redirect(request, f"/dhcp/options?{at.qs}&done=options-saved")


def definition_of(form: dict[str, str]) -> dict[str, Any]:
    """A custom option definition from the form (Central checks every field)."""
    code = form.get("code", "").strip()
    body: dict[str, Any] = {
        "code": int(code) if code.isdigit() else code,
        "name": form.get("name", "").strip(),
        "type": form.get("type", "").strip(),
        "array": form.get("array") == "yes",
    }
    if form.get("space", "").strip():
        body["space"] = form["space"].strip()
    if form.get("record_types", "").strip():
        body["record_types"] = form["record_types"].strip()
    return body


@router.post("/option-definitions")
def add_definition(request: Request, write: WriteRequest) -> Response:
    at = _at(request, write)
    body = definition_of(write.form) | {"comment": write.comment}
    try:
        console(request).central.post(at.base + "/option-definitions", write.session.token, body)
    except ApiError as exc:
        return options_page(
            request, write.session, exc.status, def_errors=exc.errors, error=exc.detail,
            params={"server": str(at.server_id), "family": at.family},
            def_values=values(write.form, "code", "name", "type", "space", "record_types",
                              "array", "comment"),
        )  # fmt: skip
    return redirect(request, f"/dhcp/options?{at.qs}&done=definition-added")


@router.post("/option-definitions/delete")
def delete_definition(request: Request, write: WriteRequest) -> Response:
    at = _at(request, write)
    space = write.get("space") or ("dhcp4" if at.family == "v4" else "dhcp6")
    console(request).central.delete(
        f"{at.base}/option-definitions/{space}/{write.get('code')}",
        write.session.token,
        comment=write.comment,
    )
    return redirect(request, f"/dhcp/options?{at.qs}&done=definition-deleted")


@router.post("/classes")
def put_class(request: Request, write: WriteRequest) -> Response:
    at = _at(request, write)
    name = write.get("name")
    body = {"name": name, "test": write.get("test"), "comment": write.comment}
    path = f"{at.base}/classes/{name or '-'}"
    try:
        console(request).central.put(path, write.session.token, body)
    except ApiError as exc:
        errors = dict(exc.errors)
        if "class_name" in errors:
            errors["name"] = errors.pop("class_name")
        return options_page(
            request, write.session, exc.status, class_errors=errors, error=exc.detail,
            params={"server": str(at.server_id), "family": at.family},
            class_values=values(write.form, "name", "test", "comment"),
        )  # fmt: skip
    return redirect(request, f"/dhcp/options?{at.qs}&done=class-saved")


@router.post("/classes/delete")
def delete_class(request: Request, write: WriteRequest) -> Response:
    at = _at(request, write)
    console(request).central.delete(
        f"{at.base}/classes/{write.get('name')}", write.session.token, comment=write.comment
    )
    return redirect(request, f"/dhcp/options?{at.qs}&done=class-deleted")


# --- leases ------------------------------------------------------------------------------
@router.get("/leases")
def leases(request: Request, session: CurrentSession) -> Response:
    central = console(request).central
    params = dict(request.query_params)
    at = where(central, session, params)
    terms = {k: params[k].strip() for k in LEASE_TERMS if params.get(k, "").strip()}
    found: list[dict[str, Any]] = []
    error = ""
    errors: dict[str, str] = {}
    total = 0
    if at.server_id:
        try:
            answer = central.get(at.base + "/leases", session.token, limit=200, **terms)
            found = answer["items"]
            total = int(answer.get("total", len(found)))
        except ApiError as exc:
            error, errors = exc.detail, exc.errors
    return render(
        request, "dhcp_leases.html", session, 422 if error else 200,
        at=at, leases=found, total=total, values=terms, searched=bool(terms),
        errors=errors, error=error,
    )  # fmt: skip
