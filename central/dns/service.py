"""Zones and records: checked with the shared model, applied by the agent, then stored.

Every change is checked first (``services.common.dns.validate``: 422 naming the record and
the field, nothing sent, nothing stored), then sent to the server's dns-agent over pinned
mutual TLS. Only when the agent applied it does Central store what named now serves (read back
by AXFR through the agent) and record the change in the history, with the save comment. A
refusal of the agent changes nothing in Central.

``sync_server`` reads every zone of a server back; where named differs from Central (an
nsupdate behind Central's back) the server wins and the history gets an ``external-change``.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

import dns.exception
import dns.name
import dns.zone
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import ColumnElement, and_, delete, select
from sqlalchemy.orm import Session

from central.core.config import CentralConfig
from central.core.db import now
from central.core.deps import Principal
from central.dns import options as server_options
from central.dns.agent import PinnedDnsClient, client_for
from central.dns.lock import serialized
from central.dns.models import DnsRecord, DnsZone
from central.history import service as history
from central.registry.models import Server
from services.common.dns.contract import (
    Change,
    ChangeSet,
    RecordData,
    ZoneContent,
    ZoneCreate,
    ZoneImport,
    ZoneKind,
    ZonePublic,
    ZoneUpdate,
)
from services.common.dns.records import Record
from services.common.dns.validate import (
    Problem,
    RecordValidationError,
    build_record,
    plan_changes,
)
from services.common.errors import NotFoundError, ValidationError

log = logging.getLogger(__name__)

EXTERNAL = "external"
#: Records listed in one history entry at most (the count is always given).
HISTORY_RECORDS = 200


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ZoneCreateRequest(ZoneCreate):
    """A new zone on DNS server ``server_id``."""

    server_id: int = Field(ge=1, le=2**31 - 1)
    comment: str = Field(default="", max_length=1000, description="save comment")


class ZoneUpdateRequest(ZoneUpdate):
    """SOA fields and zone options to change."""

    comment: str = Field(default="", max_length=1000, description="save comment")


class ZoneImportRequest(ZoneImport):
    """A zone file (BIND master format) that becomes a managed primary zone of ``server_id``."""

    server_id: int = Field(ge=1, le=2**31 - 1)
    comment: str = Field(default="", max_length=1000, description="save comment")


class TtlChange(_Body):
    """Set the TTL of every record whose owner matches ``pattern`` (``*`` and ``?`` globs)."""

    pattern: str = Field(min_length=1, max_length=255, description="e.g. *.example.com.")
    type: str | None = Field(default=None, max_length=10)
    ttl: int = Field(ge=0, le=2**31 - 1)
    comment: str = Field(default="", max_length=1000)


class Repoint(_Body):
    """Re-point every A (or AAAA) record from the address ``old`` to ``new``."""

    old: str = Field(min_length=2, max_length=64)
    new: str = Field(min_length=2, max_length=64)
    comment: str = Field(default="", max_length=1000)


# --- views -----------------------------------------------------------------------------
def zone_public(zone: DnsZone, server_name: str | None = None) -> dict[str, Any]:
    return {
        "id": zone.id,
        "server_id": zone.server_id,
        "server": server_name,
        "name": zone.name,
        "kind": zone.kind,
        "enabled": zone.enabled,
        "ttl": zone.ttl,
        "serial": zone.serial,
        "soa": zone.soa,
        "options": zone.spec,
        "record_count": zone.record_count,
        "synced_at": zone.synced_at.isoformat() if zone.synced_at else None,
        "created_at": zone.created_at.isoformat(),
        "updated_at": zone.updated_at.isoformat(),
    }


def record_public(record: DnsRecord, zone_name: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": record.id,
        "zone_id": record.zone_id,
        "name": record.name,
        "type": record.type,
        "ttl": record.ttl,
        "data": record.data,
    }
    if zone_name is not None:
        out["zone"] = zone_name
    return out


def _zone_view(zone: DnsZone) -> dict[str, Any]:
    return {
        "name": zone.name,
        "server_id": zone.server_id,
        "kind": zone.kind,
        "enabled": zone.enabled,
        "ttl": zone.ttl,
        "options": zone.spec,
    }


def _lines(records: Iterable[tuple[str, str, int, str]]) -> list[str]:
    return sorted(f"{n} {ttl} IN {t} {d}" for n, t, ttl, d in records)


def _capped(lines: list[str]) -> dict[str, Any]:
    return {"count": len(lines), "records": lines[:HISTORY_RECORDS]}


# --- lookups -----------------------------------------------------------------------------
def get_zone(db: Session, zone_id: int) -> DnsZone:
    zone = db.get(DnsZone, zone_id)
    if zone is None:
        raise NotFoundError(f"There is no DNS zone {zone_id}.", field="zone_id")
    return zone


def _rows(db: Session, zone: DnsZone) -> list[DnsRecord]:
    return list(db.scalars(select(DnsRecord).where(DnsRecord.zone_id == zone.id)))


def _parsed(zone: DnsZone, rows: Sequence[DnsRecord]) -> list[tuple[DnsRecord, Record]]:
    """Central's records of ``zone`` with the shared model's record of each (rows that do not
    parse are left out, and logged)."""
    origin = dns.name.from_text(zone.name)
    problems: list[Problem] = []
    out = []
    for row in rows:
        spec = RecordData(name=row.name, type=row.type, ttl=row.ttl, data=row.data)
        record = build_record(spec, origin, zone.ttl, "stored", problems)
        if record is not None:
            out.append((row, record))
    if problems:
        log.warning("zone %s: %d stored records do not parse", zone.name, len(problems))
    return out


def _existing(zone: DnsZone, rows: Sequence[DnsRecord]) -> list[Record]:
    """Central's records of ``zone`` as the shared model's records."""
    return [record for _row, record in _parsed(zone, rows)]


def _record_line(record: Record) -> str:
    """A record as Central stores and lists it (owner in lower case)."""
    return f"{record.name.to_text().lower()} {record.ttl} IN {record.rtype} {record.data}"


def _with_serial(soa: str, serial: int) -> str:
    """The SOA data ``soa`` with its serial replaced."""
    fields = soa.split()
    if len(fields) == 7:
        fields[2] = str(serial)
        return " ".join(fields)
    return soa


def _spec_of(zone: ZonePublic | ZoneCreate) -> dict[str, Any]:
    return zone.model_dump(
        mode="json",
        exclude={"name", "kind", "ttl", "enabled", "serial", "file", "records", "soa"},
    ) | {"soa": zone.soa.model_dump(mode="json")}


def _store_content(db: Session, zone: DnsZone, content: ZoneContent) -> None:
    """Make Central's records of ``zone`` what named serves.

    Records that did not change keep their rows (and ids): a one-record change writes one
    row, not the whole zone, which keeps the database's pages and so its backups (issue 7,
    sent as deltas) small.
    """
    wanted = Counter(
        (r.name.lower(), r.type, r.ttl if r.ttl is not None else zone.ttl, r.data)
        for r in content.records
    )
    stale: list[int] = []
    existing = db.execute(
        select(DnsRecord.id, DnsRecord.name, DnsRecord.type, DnsRecord.ttl, DnsRecord.data).where(
            DnsRecord.zone_id == zone.id
        )
    )
    for row_id, name, rtype, ttl, data in existing:
        key = (name, rtype, ttl, data)
        if wanted[key] > 0:
            wanted[key] -= 1
        else:
            stale.append(row_id)
    for start in range(0, len(stale), 500):
        db.execute(delete(DnsRecord).where(DnsRecord.id.in_(stale[start : start + 500])))
    db.add_all(
        DnsRecord(zone_id=zone.id, name=name, type=rtype, ttl=ttl, data=data)
        for (name, rtype, ttl, data), count in wanted.items()
        for _ in range(count)
    )
    zone.serial = content.serial
    zone.soa = content.soa.data
    zone.record_count = len(content.records)
    zone.synced_at = now()
    zone.updated_at = now()


def _content_lines(zone: DnsZone, content: ZoneContent) -> list[str]:
    return _lines(
        (r.name.lower(), r.type, r.ttl if r.ttl is not None else zone.ttl, r.data)
        for r in content.records
    )


def _row_lines(rows: Iterable[DnsRecord]) -> list[str]:
    return _lines((r.name, r.type, r.ttl, r.data) for r in rows)


# --- zones -------------------------------------------------------------------------------
def _validate_records(name: str, records: Sequence[RecordData], ttl: int) -> None:
    origin = dns.name.from_text(name)
    problems: list[Problem] = []
    for index, spec in enumerate(records):
        build_record(spec, origin, ttl, f"records[{index}]", problems)
    if problems:
        raise RecordValidationError(problems)


def _new_zone(db: Session, server_id: int, public: ZonePublic) -> DnsZone:
    zone = DnsZone(
        server_id=server_id,
        name=public.name,
        kind=public.kind.value,
        enabled=public.enabled,
        ttl=public.ttl,
        serial=public.serial,
        soa="",
        spec=_spec_of(public),
        record_count=0,
    )
    db.add(zone)
    db.flush()
    return zone


def _taken(db: Session, server_id: int, name: str) -> None:
    if db.scalar(select(DnsZone.id).where(DnsZone.server_id == server_id, DnsZone.name == name)):
        raise ValidationError(f"Zone {name} already exists on server {server_id}.", field="name")


@serialized
def create_zone(
    db: Session, config: CentralConfig, actor: Principal, body: ZoneCreateRequest
) -> dict[str, Any]:
    spec = ZoneCreate.model_validate(body.model_dump(exclude={"server_id", "comment"}))
    _validate_records(spec.name, spec.records, spec.ttl)
    client = client_for(db, config, body.server_id)
    _taken(db, body.server_id, spec.name)
    public = client.create_zone(spec)
    zone = _new_zone(db, body.server_id, public)
    lines: list[str] = []
    if public.kind == ZoneKind.primary and public.enabled:
        content = client.records(public.name)
        _store_content(db, zone, content)
        lines = _content_lines(zone, content)
    history.record(
        db, actor, "dns-zone", zone.id, "create",
        after=_zone_view(zone) | {"records": _capped(lines)}, comment=body.comment,
    )  # fmt: skip
    db.commit()
    return zone_public(zone)


@serialized
def import_zone(
    db: Session, config: CentralConfig, actor: Principal, body: ZoneImportRequest
) -> dict[str, Any]:
    try:
        dns.zone.from_text(body.text, origin=body.name, relativize=False, check_origin=True)
    except (dns.exception.DNSException, ValueError) as exc:
        raise ValidationError(f"The zone file does not parse: {exc}", field="text") from exc
    client = client_for(db, config, body.server_id)
    _taken(db, body.server_id, body.name)
    public = client.import_zone(ZoneImport(name=body.name, text=body.text))
    zone = _new_zone(db, body.server_id, public)
    content = client.records(public.name)
    _store_content(db, zone, content)
    history.record(
        db, actor, "dns-zone", zone.id, "import",
        after=_zone_view(zone) | {"records": _capped(_content_lines(zone, content))},
        comment=body.comment,
    )  # fmt: skip
    db.commit()
    return zone_public(zone)


def export_zone(db: Session, zone_id: int) -> dict[str, Any]:
    """The zone file of Central's view (SOA first, then every record, absolute names)."""
    zone = get_zone(db, zone_id)
    if zone.kind != ZoneKind.primary.value:
        raise ValidationError(f"Zone {zone.name} is a {zone.kind} zone.", field="zone_id")
    lines = [f"$ORIGIN {zone.name}", f"$TTL {zone.ttl}"]
    if zone.soa:
        lines.append(f"{zone.name} {zone.ttl} IN SOA {zone.soa}")
    rows = db.scalars(
        select(DnsRecord)
        .where(DnsRecord.zone_id == zone.id)
        .order_by(DnsRecord.name, DnsRecord.type, DnsRecord.data)
    )
    lines += [f"{r.name} {r.ttl} IN {r.type} {r.data}" for r in rows]
    return {"zone": zone.name, "serial": zone.serial, "text": "\n".join(lines) + "\n"}


@serialized
def delete_zone(
    db: Session, config: CentralConfig, actor: Principal, zone_id: int, comment: str
) -> None:
    zone = get_zone(db, zone_id)
    rows = _rows(db, zone)
    client_for(db, config, zone.server_id).delete_zone(zone.name)
    history.record(
        db, actor, "dns-zone", zone.id, "delete",
        before=_zone_view(zone) | {"records": _capped(_row_lines(rows))}, comment=comment,
    )  # fmt: skip
    db.delete(zone)
    db.commit()


@serialized
def set_enabled(
    db: Session, config: CentralConfig, actor: Principal, zone_id: int, enabled: bool, comment: str
) -> dict[str, Any]:
    zone = get_zone(db, zone_id)
    before = _zone_view(zone)
    public = client_for(db, config, zone.server_id).set_enabled(zone.name, enabled)
    zone.enabled = public.enabled
    zone.updated_at = now()
    action = "enable" if enabled else "disable"
    history.record(
        db, actor, "dns-zone", zone.id, action, before=before, after=_zone_view(zone),
        comment=comment,
    )  # fmt: skip
    db.commit()
    return zone_public(zone)


@serialized
def update_zone(
    db: Session, config: CentralConfig, actor: Principal, zone_id: int, body: ZoneUpdateRequest
) -> dict[str, Any]:
    zone = get_zone(db, zone_id)
    update = ZoneUpdate.model_validate(body.model_dump(exclude={"comment"}, exclude_unset=True))
    if not update.model_fields_set:
        raise ValidationError("Give at least one field to change.", field="body")
    before = _zone_view(zone)
    client = client_for(db, config, zone.server_id)
    public = client.update_zone(zone.name, update)
    zone.ttl = public.ttl
    zone.spec = _spec_of(public)
    zone.updated_at = now()
    if public.kind == ZoneKind.primary and public.enabled:
        _store_content(db, zone, client.records(zone.name))
    history.record(
        db, actor, "dns-zone", zone.id, "update", before=before, after=_zone_view(zone),
        comment=body.comment,
    )  # fmt: skip
    db.commit()
    return zone_public(zone)


# --- records -----------------------------------------------------------------------------
def _primary(zone: DnsZone) -> None:
    if zone.kind != ZoneKind.primary.value:
        raise ValidationError(
            f"Zone {zone.name} is a {zone.kind} zone; only primary zones have records here.",
            field="zone_id",
        )


def _apply(
    db: Session,
    client: PinnedDnsClient,
    actor: Principal,
    zone: DnsZone,
    changes: Sequence[Change],
    comment: str,
    action: str = "change",
) -> dict[str, Any]:
    """Check, send and store one change set of ``zone`` (the caller commits).

    Every check of the shared model is about the owners a change set touches and the apex
    (duplicates, CNAME and DNAME rules, the apex's NS, RRset TTLs), so only their records are
    read from Central's database when the change set is small.

    Central stores the outcome of the plan the agent applied (the records added and removed,
    the TTLs of the RRsets they joined, the serial named gives), rather than reading the whole
    zone back: a single change costs the same in a zone of ten records or of ten thousand. A
    change made on the server behind Central's back meanwhile stays for the sync to find.
    """
    _primary(zone)
    origin = dns.name.from_text(zone.name)
    rows = _rows_touched(db, zone, origin, changes)
    pairs = _parsed(zone, rows)
    plan = plan_changes(origin, [record for _row, record in pairs], changes, zone.ttl)
    result = client.apply(zone.name, ChangeSet(changes=list(changes), comment=comment))
    after = {_record_line(r): r for r in plan.result.values()}
    before: set[str] = set()
    removed: list[str] = []
    for row, record in pairs:
        line = _record_line(record)
        before.add(line)
        if line not in after:
            db.delete(row)
            removed.append(line)
    added = [line for line in after if line not in before]
    db.add_all(
        DnsRecord(
            zone_id=zone.id, name=record.name.to_text().lower(), type=record.rtype,
            ttl=record.ttl, data=record.data,
        )
        for line, record in after.items()
        if line not in before
    )  # fmt: skip
    zone.serial = result.serial
    zone.soa = _with_serial(zone.soa, result.serial)
    zone.record_count += len(added) - len(removed)
    zone.updated_at = now()
    for ptr_zone in result.ptr_zones:
        _refresh_ptr_zone(db, client, actor, zone, ptr_zone, comment)
    history.record(
        db, actor, "dns-zone", zone.id, action,
        before={"zone": zone.name, "records": _capped(sorted(removed))},
        after={
            "zone": zone.name,
            "serial": result.serial,
            "records": _capped(sorted(added)),
            "changes": len(changes),
        },
        comment=comment,
    )  # fmt: skip
    return {"zone_id": zone.id, "zone": zone.name, "applied": result.applied,
            "serial": result.serial}  # fmt: skip


#: Above this many owners a change set is checked against all the zone's records.
OWNER_LOOKUP_LIMIT = 500


def _rows_touched(
    db: Session, zone: DnsZone, origin: dns.name.Name, changes: Sequence[Change]
) -> list[DnsRecord]:
    """The records of the owners ``changes`` touch and of the apex (all records if many)."""
    owners = {zone.name}
    for change in changes:
        for spec in (change.record, change.new):
            if spec is None:
                continue
            try:
                owners.add(dns.name.from_text(spec.name, origin=origin).to_text().lower())
            except (dns.exception.DNSException, ValueError):
                continue  # a bad owner: the plan reports it
    if len(owners) > OWNER_LOOKUP_LIMIT:
        return _rows(db, zone)
    query = select(DnsRecord).where(DnsRecord.zone_id == zone.id, DnsRecord.name.in_(owners))
    return list(db.scalars(query))


def _refresh_ptr_zone(
    db: Session,
    client: PinnedDnsClient,
    actor: Principal,
    zone: DnsZone,
    name: str,
    comment: str,
) -> None:
    """Store a reverse zone whose PTR records a change set of ``zone`` moved, if Central has it."""
    reverse = db.scalar(
        select(DnsZone).where(DnsZone.server_id == zone.server_id, DnsZone.name == name)
    )
    if reverse is None:
        return
    before = set(_row_lines(_rows(db, reverse)))
    content = client.records(name)
    after = set(_content_lines(reverse, content))
    _store_content(db, reverse, content)
    history.record(
        db, actor, "dns-zone", reverse.id, "change",
        before={"zone": name, "records": _capped(sorted(before - after))},
        after={"zone": name, "serial": content.serial,
               "records": _capped(sorted(after - before)), "ptr_of": zone.name},
        comment=comment,
    )  # fmt: skip


@serialized
def apply_changes(
    db: Session, config: CentralConfig, actor: Principal, zone_id: int, body: ChangeSet
) -> dict[str, Any]:
    zone = get_zone(db, zone_id)
    _primary(zone)
    client = client_for(db, config, zone.server_id)
    result = _apply(db, client, actor, zone, body.changes, body.comment)
    db.commit()
    return result


def glob_like(pattern: str) -> str:
    """A shell glob (``*``, ``?``) as an SQL LIKE pattern with ``\\`` as escape."""
    out = pattern.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return out.replace("*", "%").replace("?", "_")


def name_condition(db: Session, pattern: str) -> Any:
    """Owner names matching the glob ``pattern``: LIKE, plus an index range on its literal prefix.

    Names are stored in lower case. On SQLite (binary collation) the range over the literal
    prefix before the first wildcard lets the index on ``name`` narrow the scan.
    """
    condition: ColumnElement[bool] = DnsRecord.name.like(glob_like(pattern), escape="\\")
    prefix = re.split(r"[*?]", pattern.lower(), maxsplit=1)[0]
    if prefix and db.get_bind().dialect.name == "sqlite":
        upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        condition = and_(condition, DnsRecord.name >= prefix, DnsRecord.name < upper)
    return condition


def _matching(db: Session, query: Any) -> dict[int, list[DnsRecord]]:
    by_zone: dict[int, list[DnsRecord]] = defaultdict(list)
    for row in db.scalars(query):
        by_zone[row.zone_id].append(row)
    return by_zone


def _bulk(
    db: Session,
    config: CentralConfig,
    actor: Principal,
    by_zone: dict[int, list[DnsRecord]],
    make: Any,
    comment: str,
    action: str,
) -> dict[str, Any]:
    """One change set per zone, each applied and committed on its own (atomic per zone)."""
    done: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    for zone_id in sorted(by_zone):
        zone = get_zone(db, zone_id)
        changes = [make(row) for row in by_zone[zone_id]]
        try:
            client = client_for(db, config, zone.server_id)
            done.append(_apply(db, client, actor, zone, changes, comment, action))
            db.commit()
        except Exception as exc:
            db.rollback()
            if not done and len(by_zone) == 1:
                raise
            failed.append({"zone_id": zone_id, "zone": zone.name, "error": str(exc)})
    return {"zones": done, "failed": failed, "changed": sum(z["applied"] for z in done)}


def _record_data(row: DnsRecord, **changes: Any) -> RecordData:
    return RecordData(
        name=row.name, type=row.type, ttl=changes.get("ttl", row.ttl),
        data=changes.get("data", row.data),
    )  # fmt: skip


@serialized
def set_ttl(
    db: Session, config: CentralConfig, actor: Principal, body: TtlChange
) -> dict[str, Any]:
    query = select(DnsRecord).where(name_condition(db, body.pattern))
    if body.type:
        query = query.where(DnsRecord.type == body.type.upper())
    by_zone = _matching(db, query.where(DnsRecord.ttl != body.ttl))
    if not by_zone:
        return {"zones": [], "failed": [], "changed": 0}
    return _bulk(
        db, config, actor, by_zone,
        lambda row: Change(action="update", record=_record_data(row),
                           new=_record_data(row, ttl=body.ttl)),
        body.comment, "set-ttl",
    )  # fmt: skip


@serialized
def repoint(db: Session, config: CentralConfig, actor: Principal, body: Repoint) -> dict[str, Any]:
    try:
        old, new = ipaddress.ip_address(body.old), ipaddress.ip_address(body.new)
    except ValueError as exc:
        field = "old"
        try:
            ipaddress.ip_address(body.old)
            field = "new"
        except ValueError:
            pass
        raise ValidationError(f"{field}: not an IP address: {exc}", field=field) from exc
    if old.version != new.version:
        raise ValidationError("old and new must be of the same IP version.", field="new")
    rtype = "A" if old.version == 4 else "AAAA"
    query = select(DnsRecord).where(DnsRecord.type == rtype, DnsRecord.data == str(old))
    by_zone = _matching(db, query)
    if not by_zone:
        return {"zones": [], "failed": [], "changed": 0}
    return _bulk(
        db, config, actor, by_zone,
        lambda row: Change(action="update", record=_record_data(row),
                           new=_record_data(row, data=str(new))),
        body.comment, "repoint",
    )  # fmt: skip


# --- sync --------------------------------------------------------------------------------
@serialized
def sync_server(db: Session, config: CentralConfig, server_id: int) -> dict[str, Any]:
    """Read every zone and the options of ``server_id`` back; the server wins any difference."""
    client = client_for(db, config, server_id)
    served = {z.name: z for z in client.zones()}
    zones = {z.name: z for z in db.scalars(select(DnsZone).where(DnsZone.server_id == server_id))}
    changed: list[str] = []
    for name, public in served.items():
        zone = zones.get(name)
        if zone is None:
            zone = _new_zone(db, server_id, public)
            history.record(
                db, EXTERNAL, "dns-zone", zone.id, "external-change",
                after=_zone_view(zone), comment="a zone found on the server",
            )  # fmt: skip
            changed.append(name)
        elif zone.enabled != public.enabled or zone.kind != public.kind.value:
            before = _zone_view(zone)
            zone.enabled, zone.kind = public.enabled, public.kind.value
            history.record(
                db, EXTERNAL, "dns-zone", zone.id, "external-change",
                before=before, after=_zone_view(zone), comment="found on the server at sync",
            )  # fmt: skip
            changed.append(name)
        if public.kind != ZoneKind.primary or not public.enabled:
            continue
        content = client.records(name)
        rows = _rows(db, zone)
        before_lines = set(_row_lines(rows))
        after_lines = set(_content_lines(zone, content))
        if before_lines != after_lines:
            _store_content(db, zone, content)
            history.record(
                db, EXTERNAL, "dns-zone", zone.id, "external-change",
                before={"zone": name, "records": _capped(sorted(before_lines - after_lines))},
                after={"zone": name, "serial": content.serial,
                       "records": _capped(sorted(after_lines - before_lines))},
                comment="changed on the server behind Central's back; the server wins",
            )  # fmt: skip
            if name not in changed:
                changed.append(name)
        else:
            zone.serial, zone.soa, zone.synced_at = content.serial, content.soa.data, now()
    for name, zone in zones.items():
        if name not in served:
            history.record(
                db, EXTERNAL, "dns-zone", zone.id, "external-change",
                before=_zone_view(zone), comment="the zone is gone from the server",
            )  # fmt: skip
            db.delete(zone)
            changed.append(name)
    options_changed = server_options.sync_options(db, client, server_id)
    db.commit()
    return {
        "server_id": server_id,
        "zones": len(served),
        "changed": sorted(changed),
        "options_changed": options_changed,
    }


def sync_all(db: Session, config: CentralConfig) -> None:
    """One sync round over every enrolled DNS server; a failing server does not stop the rest."""
    servers = db.scalars(
        select(Server.id).where(
            Server.kind == "dns", Server.fingerprint != "", Server.state != "revoked"
        )
    ).all()
    for server_id in servers:
        try:
            sync_server(db, config, server_id)
        except Exception:
            db.rollback()
            log.exception("syncing DNS server %s failed", server_id)
