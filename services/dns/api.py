"""The dns-agent's HTTP API (see ``services.common.dns.contract`` for the endpoints).

Errors are the one problem format of ``services.common.problems``: for bad records,
``problems`` lists every one with its field, the record's name and type, and the reason. Bad
input answers 422 and nothing is applied.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.responses import Response

from services.common.dns.contract import (
    ChangeResult,
    ChangeSet,
    ImportPreview,
    ServerOptions,
    ZoneContent,
    ZoneCreate,
    ZoneExport,
    ZoneImport,
    ZoneImported,
    ZonePublic,
    ZoneUpdate,
)
from services.dns.service import DnsService


def install(app: FastAPI, service: DnsService) -> None:
    """Add the DNS routes to ``app`` (an ``agent_app``: its errors are problem answers)."""
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
    def import_zone(request: ZoneImport) -> ZoneImported:
        return service.import_zone(request)

    @api.post("/zones/import/preview")
    def preview_import(request: ZoneImport) -> ImportPreview:
        return service.preview_import(request)

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

    @api.get("/zones/{zone}/records", response_model=ZoneContent)
    def zone_records(zone: str) -> Response:
        # Serialized here, once: FastAPI would dump and validate a large zone's records again
        # before writing them.
        content = service.records(zone).model_dump_json()
        return Response(content=content, media_type="application/json")

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
