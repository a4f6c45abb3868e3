"""``/api/v1/dns``: zones, records, search, bulk edits, import and export, server options, sync.

Administrators and DNS administrators write; every role reads.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from sqlalchemy import select

from central.core.deps import CurrentUser, DbSession, DeleteComment, Principal, Role, require
from central.core.listing import ListQuery, listing, page
from central.core.problems import RESPONSES
from central.dns import options as server_options
from central.dns import service
from central.dns.models import DnsRecord, DnsZone
from central.registry.models import Server
from services.common.dns.contract import ChangeSet

router = APIRouter(prefix="/api/v1/dns", responses=RESPONSES, tags=["dns"])

DnsWriter = Annotated[Principal, Depends(require(Role.DNS_ADMIN))]
ZoneId = Annotated[int, Path(ge=1, le=2**31 - 1)]
ServerId = Annotated[int, Path(ge=1, le=2**31 - 1)]

ZONE_FIELDS = {
    "id": DnsZone.id,
    "server_id": DnsZone.server_id,
    "name": DnsZone.name,
    "kind": DnsZone.kind,
    "enabled": DnsZone.enabled,
    "ttl": DnsZone.ttl,
    "serial": DnsZone.serial,
    "record_count": DnsZone.record_count,
    "created_at": DnsZone.created_at,
    "updated_at": DnsZone.updated_at,
}
RECORD_FIELDS = {
    "id": DnsRecord.id,
    "zone_id": DnsRecord.zone_id,
    "name": DnsRecord.name,
    "type": DnsRecord.type,
    "ttl": DnsRecord.ttl,
    "data": DnsRecord.data,
}


def _config(request: Request) -> Any:
    return request.app.state.config


@router.get("/zones")
def list_zones(db: DbSession, _user: CurrentUser, params: ListQuery) -> dict[str, Any]:
    """Zones of every DNS server; filter e.g. ``kind:primary server_id:1 name~example``."""
    rows, total = page(db, select(DnsZone), params, ZONE_FIELDS, ("name",), default_sort="name")
    return listing([service.zone_public(z) for z in rows], total, params)


@router.post("/zones", status_code=201)
def create_zone(
    request: Request, db: DbSession, user: DnsWriter, body: service.ZoneCreateRequest
) -> dict[str, Any]:
    """A new zone on a DNS server (primary with its first records, secondary, forward, stub)."""
    return service.create_zone(db, _config(request), user, body)


@router.post("/zones/import", status_code=201)
def import_zone(
    request: Request, db: DbSession, user: DnsWriter, body: service.ZoneImportRequest
) -> dict[str, Any]:
    """A zone file in BIND's master format becomes a managed primary zone."""
    return service.import_zone(db, _config(request), user, body)


@router.get("/zones/{zone_id}")
def get_zone(db: DbSession, _user: CurrentUser, zone_id: ZoneId) -> dict[str, Any]:
    return service.zone_public(service.get_zone(db, zone_id))


@router.patch("/zones/{zone_id}")
def update_zone(
    request: Request,
    db: DbSession,
    user: DnsWriter,
    zone_id: ZoneId,
    body: service.ZoneUpdateRequest,
) -> dict[str, Any]:
    """Change SOA fields and zone options (allow-transfer, allow-update, notify, ...)."""
    return service.update_zone(db, _config(request), user, zone_id, body)


@router.delete("/zones/{zone_id}", status_code=204)
def delete_zone(
    request: Request, db: DbSession, user: DnsWriter, zone_id: ZoneId, comment: DeleteComment
) -> Response:
    service.delete_zone(db, _config(request), user, zone_id, comment)
    return Response(status_code=204)


@router.post("/zones/{zone_id}/enable")
def enable_zone(
    request: Request, db: DbSession, user: DnsWriter, zone_id: ZoneId, comment: DeleteComment
) -> dict[str, Any]:
    return service.set_enabled(db, _config(request), user, zone_id, True, comment)


@router.post("/zones/{zone_id}/disable")
def disable_zone(
    request: Request, db: DbSession, user: DnsWriter, zone_id: ZoneId, comment: DeleteComment
) -> dict[str, Any]:
    return service.set_enabled(db, _config(request), user, zone_id, False, comment)


@router.get("/zones/{zone_id}/records")
def list_records(
    db: DbSession, _user: CurrentUser, zone_id: ZoneId, params: ListQuery
) -> dict[str, Any]:
    """The records of one zone (not the SOA); filter e.g. ``type:MX name~mail``."""
    zone = service.get_zone(db, zone_id)
    query = select(DnsRecord).where(DnsRecord.zone_id == zone.id)
    rows, total = page(db, query, params, RECORD_FIELDS, ("name", "data"), default_sort="name")
    return listing([service.record_public(r) for r in rows], total, params)


@router.post("/zones/{zone_id}/changes")
def apply_changes(
    request: Request, db: DbSession, user: DnsWriter, zone_id: ZoneId, body: ChangeSet
) -> dict[str, Any]:
    """Create, update and delete records of one zone, all or nothing, with a save comment."""
    return service.apply_changes(db, _config(request), user, zone_id, body)


@router.get("/zones/{zone_id}/export")
def export_zone(db: DbSession, _user: CurrentUser, zone_id: ZoneId) -> dict[str, Any]:
    """The zone file (BIND master format) of the zone as Central holds it."""
    return service.export_zone(db, zone_id)


@router.get("/records")
def search_records(
    db: DbSession,
    _user: CurrentUser,
    params: ListQuery,
    name: Annotated[str | None, Query(max_length=255, description="owner glob, e.g. www.*")] = None,
    type: Annotated[str | None, Query(max_length=10, description="record type")] = None,
    data: Annotated[
        str | None, Query(max_length=255, description="data equals (e.g. an address)")
    ] = None,
) -> dict[str, Any]:
    """Records across every zone by owner glob, type and exact data, with filter, sort, paging.

    ``filter`` terms work as in every list (``data~spf`` for data containing a text).
    """
    query = select(DnsRecord)
    if name:
        query = query.where(service.name_condition(db, name))
    if type:
        query = query.where(DnsRecord.type == type.upper())
    if data:
        query = query.where(DnsRecord.data == data)
    rows, total = page(db, query, params, RECORD_FIELDS, ("name", "data"), default_sort="name")
    zone_ids = {r.zone_id for r in rows}
    names: dict[int, str] = {
        zone_id: zone_name
        for zone_id, zone_name in db.execute(
            select(DnsZone.id, DnsZone.name).where(DnsZone.id.in_(zone_ids))
        )
    }
    return listing([service.record_public(r, names.get(r.zone_id)) for r in rows], total, params)


@router.post("/records/ttl")
def set_ttl(
    request: Request, db: DbSession, user: DnsWriter, body: service.TtlChange
) -> dict[str, Any]:
    """Set the TTL of every record whose owner matches a pattern (one change set per zone)."""
    return service.set_ttl(db, _config(request), user, body)


@router.post("/records/repoint")
def repoint(
    request: Request, db: DbSession, user: DnsWriter, body: service.Repoint
) -> dict[str, Any]:
    """Re-point every A/AAAA record from an old address to a new one (atomic per zone)."""
    return service.repoint(db, _config(request), user, body)


@router.post("/servers/{server_id}/sync")
def sync_server(
    request: Request, db: DbSession, _user: DnsWriter, server_id: ServerId
) -> dict[str, Any]:
    """Read every zone back from the server now; the server wins where it differs."""
    if db.get(Server, server_id) is None:
        from services.common.errors import NotFoundError

        raise NotFoundError(f"There is no server {server_id}.", field="server_id")
    return service.sync_server(db, _config(request), server_id)


@router.get("/servers/{server_id}/options")
def get_server_options(db: DbSession, _user: CurrentUser, server_id: ServerId) -> dict[str, Any]:
    """The server options as Central last set or read them (``known`` false before that)."""
    return server_options.get_options(db, server_id)


@router.put("/servers/{server_id}/options")
def set_server_options(
    request: Request,
    db: DbSession,
    user: DnsWriter,
    server_id: ServerId,
    body: server_options.OptionsRequest,
) -> dict[str, Any]:
    """Set forwarders, recursion and allow-recursion, listen addresses, DNSSEC validation.

    The whole set is given (what is left out takes its default); named is reconfigured safely
    and keeps its old configuration when the new one is refused.
    """
    return server_options.set_options(db, _config(request), user, server_id, body)
