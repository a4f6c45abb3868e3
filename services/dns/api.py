"""The dns-agent's HTTP API (see ``services.common.dns.contract`` for the endpoints).

Errors are RFC 9457 problem JSON: ``status``, ``title``, ``detail``, ``code``, ``field`` (the
first field at fault) and, for bad records, ``errors``: every problem with its field, record
and reason. Bad input answers 422 and nothing is applied.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

from services.common.dns.contract import (
    ChangeResult,
    ChangeSet,
    ServerOptions,
    ZoneContent,
    ZoneCreate,
    ZoneExport,
    ZoneImport,
    ZonePublic,
    ZoneUpdate,
)
from services.common.dns.validate import RecordValidationError
from services.common.errors import BurrowError
from services.dns.service import DnsService

log = logging.getLogger(__name__)

PROBLEM = "application/problem+json"
_FIELD_PART = re.compile(r"^([a-z_][a-z0-9_]*|[0-9]+)$")


def _problem(status: int, title: str, detail: str, **extra: Any) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type=PROBLEM)


def _burrow_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, BurrowError)
    extra: dict[str, Any] = {"code": exc.code, "field": exc.field}
    if exc.hint:
        extra["hint"] = exc.hint
    if isinstance(exc, RecordValidationError):
        extra["errors"] = [p.as_dict() for p in exc.problems]
    if exc.status >= 500:
        log.error("%s %s: %s", request.method, request.url.path, exc)
    return _problem(exc.status, type(exc).__name__, exc.message, **extra)


def _request_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = []
    for item in exc.errors():
        location = [str(part) for part in item.get("loc", ()) if part != "body"]
        path = ""
        for part in location:
            if not _FIELD_PART.match(part):  # a union member or validator, not a field
                break
            path += f"[{part}]" if part.isdigit() else (f".{part}" if path else part)
        errors.append({"field": path, "reason": str(item.get("msg", ""))})
    first = errors[0] if errors else {"field": "", "reason": "invalid request"}
    return _problem(
        422,
        "ValidationError",
        f"{first['field']}: {first['reason']}",
        code="validation-error",
        field=first["field"],
        errors=errors,
    )


def install(app: FastAPI, service: DnsService) -> None:
    """Add the DNS routes and the problem-JSON error handlers to ``app``."""
    app.add_exception_handler(BurrowError, _burrow_error)
    app.add_exception_handler(RequestValidationError, _request_error)
    app.include_router(router(service))


def router(service: DnsService) -> APIRouter:
    api = APIRouter()

    @api.get("/zones")
    def list_zones() -> list[ZonePublic]:
        return service.zones()

    @api.post("/zones", status_code=201)
    def create_zone(spec: ZoneCreate) -> ZonePublic:
        return service.create_zone(spec)

    @api.post("/zones/import", status_code=201)
    def import_zone(request: ZoneImport) -> ZonePublic:
        return service.import_zone(request)

    @api.get("/zones/{zone}")
    def get_zone(zone: str) -> ZonePublic:
        return service.zone(zone)

    @api.patch("/zones/{zone}")
    def update_zone(zone: str, update: ZoneUpdate) -> ZonePublic:
        return service.update_zone(zone, update)

    @api.delete("/zones/{zone}", status_code=204)
    def delete_zone(zone: str) -> Response:
        service.delete_zone(zone)
        return Response(status_code=204)

    @api.post("/zones/{zone}/enable")
    def enable_zone(zone: str) -> ZonePublic:
        return service.set_enabled(zone, True)

    @api.post("/zones/{zone}/disable")
    def disable_zone(zone: str) -> ZonePublic:
        return service.set_enabled(zone, False)

    @api.get("/zones/{zone}/records")
    def zone_records(zone: str) -> ZoneContent:
        return service.records(zone)

    @api.post("/zones/{zone}/changes")
    def apply_changes(zone: str, changeset: ChangeSet) -> ChangeResult:
        return service.apply(zone, changeset)

    @api.get("/zones/{zone}/export")
    def export_zone(zone: str) -> ZoneExport:
        return service.export(zone)

    @api.get("/options")
    def get_options() -> ServerOptions:
        return service.options()

    @api.put("/options")
    def set_options(options: ServerOptions) -> ServerOptions:
        return service.set_options(options)

    return api
