"""``/api/v1/dns``: zones, records, search, bulk edits, import and export, server options, sync.

Administrators and DNS administrators write; every role reads. Every route declares its
response model (``central.dns.schemas``), so the OpenAPI document describes each answer; errors
are the one problem format, with the dns-agent's problems passed on as it gave them.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from sqlalchemy import select

from central.core.deps import CurrentUser, DbSession, DeleteComment, Principal, Role, require
from central.core.listing import ListQuery, page
from central.core.problems import RESPONSES
from central.dns import options as server_options
from central.dns import secondaries, service
from central.dns.models import DnsRecord, DnsZone
from central.dns.schemas import (
    BulkResult,
    ChangeApplied,
    FoundRecordPage,
    OptionsRequest,
    OptionsView,
    RecordPage,
    Repoint,
    SyncResult,
    TtlChange,
    ZoneCreateRequest,
    ZoneFileView,
    ZoneImportRequest,
    ZoneImportView,
    ZonePage,
    ZoneUpdateRequest,
    ZoneView,
)
from central.registry.models import Server
from services.common.dns.contract import ChangeSet, ImportPreview
from services.common.errors import NotFoundError
from services.common.problems import documented

#: The errors a DNS write may answer besides those of every route.
WRITE_RESPONSES: dict[int | str, dict[str, Any]] = {
    409: documented("The change clashes with what exists (a zone of that name, ...)"),
    502: documented("The dns-agent or named failed; nothing was changed unless it says so"),
    503: documented("The dns-agent cannot be reached; nothing was changed (Retry-After)"),
    504: documented(
        "The dns-agent stopped answering after the change was sent and its state could not "
        "be read back in time: the change may or may not have been applied"
    ),
}

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
def list_zones(db: DbSession, _user: CurrentUser, params: ListQuery) -> ZonePage:
    """Zones of every DNS server; filter e.g. ``kind:primary server_id:1 name~example``."""
    rows, total = page(
        db,
        select(DnsZone).where(service.shown_zones()),
        params,
        ZONE_FIELDS,
        ("name",),
        default_sort="name",
    )
    items = [service.zone_view(z) for z in rows]
    return ZonePage(items=items, total=total, offset=params.offset, limit=params.limit)


@router.post("/zones", status_code=201, responses=WRITE_RESPONSES)
def create_zone(
    request: Request, db: DbSession, user: DnsWriter, body: ZoneCreateRequest
) -> ZoneView:
    """A new zone on a DNS server (primary with its first records, secondary, forward, stub)."""
    return service.create_zone(db, _config(request), user, body)


@router.post("/zones/import", status_code=201, responses=WRITE_RESPONSES)
def import_zone(
    request: Request, db: DbSession, user: DnsWriter, body: ZoneImportRequest
) -> ZoneImportView:
    """A zone file in BIND's master format becomes a managed primary zone.

    A file with bad entries is refused whole with every problem at once, each at its line
    (``"field": "line 12", "line": 12``), in the order of the file. With
    ``"leave_out_refused": true`` the refused records are left out instead and listed in the
    answer (``left_out``) and the history; problems of the whole file still refuse it."""
    return service.import_zone(db, _config(request), user, body)


@router.post("/zones/import/preview", responses=WRITE_RESPONSES)
def preview_import(
    request: Request, db: DbSession, _user: DnsWriter, body: ZoneImportRequest
) -> ImportPreview:
    """What importing the file would create and refuse (each with its line and reason), read
    by the server's dns-agent and named-checkzone; nothing is changed."""
    return service.preview_import(db, _config(request), body)


@router.get("/zones/{zone_id}")
def get_zone(request: Request, db: DbSession, _user: CurrentUser, zone_id: ZoneId) -> ZoneView:
    """One zone; a secondary zone is read from named (the serial and records it serves)."""
    zone = service.refresh_secondary(db, _config(request), service.get_zone(db, zone_id))
    return service.zone_view(zone)


@router.patch("/zones/{zone_id}", responses=WRITE_RESPONSES)
def update_zone(
    request: Request,
    db: DbSession,
    user: DnsWriter,
    zone_id: ZoneId,
    body: ZoneUpdateRequest,
) -> ZoneView:
    """Change SOA fields and zone options (allow-transfer, allow-update, notify, ...)."""
    return service.update_zone(db, _config(request), user, zone_id, body)


@router.delete("/zones/{zone_id}", status_code=204, responses=WRITE_RESPONSES)
def delete_zone(
    request: Request, db: DbSession, user: DnsWriter, zone_id: ZoneId, comment: DeleteComment
) -> Response:
    service.delete_zone(db, _config(request), user, zone_id, comment)
    return Response(status_code=204)


@router.post("/zones/{zone_id}/enable", responses=WRITE_RESPONSES)
def enable_zone(
    request: Request, db: DbSession, user: DnsWriter, zone_id: ZoneId, comment: DeleteComment
) -> ZoneView:
    return service.set_enabled(db, _config(request), user, zone_id, True, comment)


@router.post("/zones/{zone_id}/disable", responses=WRITE_RESPONSES)
def disable_zone(
    request: Request, db: DbSession, user: DnsWriter, zone_id: ZoneId, comment: DeleteComment
) -> ZoneView:
    return service.set_enabled(db, _config(request), user, zone_id, False, comment)


@router.get("/zones/{zone_id}/records")
def list_records(
    request: Request, db: DbSession, _user: CurrentUser, zone_id: ZoneId, params: ListQuery
) -> RecordPage:
    """The records of one zone (not the SOA); filter e.g. ``type:MX name~mail``. A secondary
    zone's are read from named first."""
    zone = service.refresh_secondary(db, _config(request), service.get_zone(db, zone_id))
    query = select(DnsRecord).where(DnsRecord.zone_id == zone.id)
    rows, total = page(db, query, params, RECORD_FIELDS, ("name", "data"), default_sort="name")
    dhcp = service.dhcp_owners(db, rows)
    items = [service.record_view(r, dhcp) for r in rows]
    return RecordPage(items=items, total=total, offset=params.offset, limit=params.limit)


@router.post("/zones/{zone_id}/changes", responses=WRITE_RESPONSES)
def apply_changes(
    request: Request, db: DbSession, user: DnsWriter, zone_id: ZoneId, body: ChangeSet
) -> ChangeApplied:
    """Create, update and delete records of one zone, all or nothing, with a save comment.

    Refused changes answer 422 with every problem, each naming its change and field
    (``changes[3].record.data``), also when named itself refused them."""
    return service.apply_changes(db, _config(request), user, zone_id, body)


@router.post("/zones/{zone_id}/secondaries", responses=WRITE_RESPONSES)
def add_secondaries(
    request: Request, db: DbSession, user: DnsWriter, zone_id: ZoneId,
    body: secondaries.SecondariesRequest,
) -> secondaries.ZoneCopies:  # fmt: skip
    """Secondary copies of a primary zone on other DNS servers (of a fleet's appliances), in
    one action: a TSIG key per copy, transfers signed with it, NOTIFY to each copy. Answers
    every copy with the serial its named serves."""
    made = secondaries.add_secondaries(db, _config(request), user, zone_id, body)
    return secondaries.ZoneCopies(zone_id=zone_id, items=made)


@router.delete("/zones/{zone_id}/secondaries/{server_id}", responses=WRITE_RESPONSES)
def remove_secondary(
    request: Request, db: DbSession, user: DnsWriter, zone_id: ZoneId,
    server_id: Annotated[int, Path(ge=1, le=2**31 - 1)], comment: DeleteComment,
) -> secondaries.ZoneCopies:  # fmt: skip
    """Delete the copy on ``server_id``, its transfer key and the primary's NOTIFY to it."""
    left = secondaries.remove_secondary(db, _config(request), user, zone_id, server_id, comment)
    return secondaries.ZoneCopies(zone_id=zone_id, items=left)


@router.get("/zones/{zone_id}/copies")
def zone_copies(
    request: Request, db: DbSession, _user: CurrentUser, zone_id: ZoneId
) -> secondaries.ZoneCopies:
    """The primary zone and its secondaries on other servers, each with the serial it serves
    now and whether that is the primary's."""
    return secondaries.ZoneCopies(
        zone_id=zone_id, items=secondaries.copies(db, _config(request), zone_id)
    )


@router.get("/zones/{zone_id}/export")
def export_zone(db: DbSession, _user: CurrentUser, zone_id: ZoneId) -> ZoneFileView:
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
) -> FoundRecordPage:
    """Records across every zone by owner glob, type and exact data, with filter, sort, paging.

    ``filter`` terms work as in every list (``data~spf`` for data containing a text).
    """
    query = select(DnsRecord).where(service.shown_records())
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
    dhcp = service.dhcp_owners(db, rows)
    items = [service.found_record(r, names.get(r.zone_id), dhcp) for r in rows]
    return FoundRecordPage(items=items, total=total, offset=params.offset, limit=params.limit)


@router.post("/records/ttl", responses=WRITE_RESPONSES)
def set_ttl(request: Request, db: DbSession, user: DnsWriter, body: TtlChange) -> BulkResult:
    """Set the TTL of every record whose owner matches a pattern (one change set per zone)."""
    return service.set_ttl(db, _config(request), user, body)


@router.post("/records/repoint", responses=WRITE_RESPONSES)
def repoint(request: Request, db: DbSession, user: DnsWriter, body: Repoint) -> BulkResult:
    """Re-point every A/AAAA record from an old address to a new one (atomic per zone)."""
    return service.repoint(db, _config(request), user, body)


@router.post("/servers/{server_id}/sync", responses=WRITE_RESPONSES)
def sync_server(
    request: Request, db: DbSession, _user: DnsWriter, server_id: ServerId
) -> SyncResult:
    """Read every zone back from the server now; the server wins where it differs."""
    if db.get(Server, server_id) is None:
        raise NotFoundError(f"There is no server {server_id}.", field="server_id")
    return service.sync_server(db, _config(request), server_id)


@router.get("/servers/{server_id}/options")
def get_server_options(db: DbSession, _user: CurrentUser, server_id: ServerId) -> OptionsView:
    """The server options as Central last set or read them (``known`` false before that)."""
    return server_options.get_options(db, server_id)


@router.put("/servers/{server_id}/options", responses=WRITE_RESPONSES)
def set_server_options(
    request: Request,
    db: DbSession,
    user: DnsWriter,
    server_id: ServerId,
    body: OptionsRequest,
) -> OptionsView:
    """Set forwarders, recursion and allow-recursion, listen addresses, DNSSEC validation.

    The whole set is given (what is left out takes its default); named is reconfigured safely
    and keeps its old configuration when the new one is refused.
    """
    return server_options.set_options(db, _config(request), user, server_id, body)
