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
from services.common.dns.dnssec import DnssecPolicy, DsChange, Rollover, ZoneDnssec
from services.common.dns.tsig import TsigKeyInstall, TsigKeyPublic
from services.common.errors import ValidationError
from services.dns.security import Security
from services.dns.service import DnsService


def install(app: FastAPI, service: DnsService) -> None:
    """Add the DNS routes to ``app`` (an ``agent_app``: its errors are problem answers)."""
    app.include_router(router(service))


def router(service: DnsService) -> APIRouter:
    api = APIRouter()

    @api.get("/zones")
    def list_zones() -> list[ZonePublic]:
        return [zone.shown() for zone in service.zones()]

    @api.post("/zones", status_code=201)
    def create_zone(spec: ZoneCreate) -> ZonePublic:
        return service.create_zone(spec).shown()

    @api.post("/zones/import", status_code=201, response_model=ZoneImported)
    def import_zone(request: ZoneImport, records: bool = False) -> Response:
        # Serialized here, once (see zone_records): with ``records`` it holds the whole zone.
        imported = service.import_zone(request, with_records=records)
        return Response(
            content=imported.model_dump_json(), status_code=201, media_type="application/json"
        )

    @api.post("/zones/import/preview")
    def preview_import(request: ZoneImport) -> ImportPreview:
        return service.preview_import(request)

    @api.get("/zones/{zone}")
    def get_zone(zone: str) -> ZonePublic:
        return service.zone(zone).shown()

    @api.patch("/zones/{zone}")
    def update_zone(zone: str, update: ZoneUpdate) -> ZonePublic:
        return service.update_zone(zone, update).shown()

    @api.delete("/zones/{zone}", status_code=204)
    def delete_zone(zone: str) -> Response:
        service.delete_zone(zone)
        return Response(status_code=204)

    @api.post("/zones/{zone}/enable")
    def enable_zone(zone: str) -> ZonePublic:
        return service.set_enabled(zone, True).shown()

    @api.post("/zones/{zone}/disable")
    def disable_zone(zone: str) -> ZonePublic:
        return service.set_enabled(zone, False).shown()

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

    security = Security(service)

    @api.get("/keys")
    def list_keys() -> list[TsigKeyPublic]:
        return security.list_keys()

    @api.post("/keys", status_code=201)
    def add_key(key: TsigKeyInstall) -> TsigKeyPublic:
        return security.add_key(key)

    @api.delete("/keys/{name}", status_code=204)
    def delete_key(name: str) -> Response:
        security.delete_key(name)
        return Response(status_code=204)

    @api.get("/dnssec/policies")
    def list_policies() -> list[DnssecPolicy]:
        return security.list_policies()

    @api.put("/dnssec/policies/{name}")
    def put_policy(name: str, policy: DnssecPolicy) -> DnssecPolicy:
        if policy.name != name:
            raise ValidationError("The policy's name differs from the path's.", field="name")
        return security.put_policy(policy)

    @api.delete("/dnssec/policies/{name}", status_code=204)
    def delete_policy(name: str) -> Response:
        security.delete_policy(name)
        return Response(status_code=204)

    @api.get("/zones/{zone}/dnssec")
    def zone_dnssec(zone: str) -> ZoneDnssec:
        return security.zone_dnssec(zone)

    @api.post("/zones/{zone}/dnssec/rollover")
    def rollover(zone: str, body: Rollover) -> ZoneDnssec:
        return security.rollover(zone, body.key_id)

    @api.post("/zones/{zone}/dnssec/checkds")
    def checkds(zone: str, body: DsChange) -> ZoneDnssec:
        return security.checkds(zone, body)

    return api
