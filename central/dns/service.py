"""Zones and records: checked with the shared model, applied by the agent, then stored.

Every change is checked first (``services.common.dns.validate``: 422 naming the record and
the field, nothing sent, nothing stored), then sent to the server's dns-agent over pinned
mutual TLS (``central.dns.agent``). Only when the agent applied it does Central store what
named now serves and record the change in the history, with the save comment. A refusal of the
agent changes nothing in Central and comes back as the agent said it: its status and every
problem it found, in order. When the agent stops answering after a change was sent, Central
reads the state back before it answers (``central.dns.settle``).

``sync_server`` reads every zone of a server back; where named differs from Central (an
nsupdate behind Central's back) the server wins and the history gets an ``external-change``.
"""

from __future__ import annotations

import functools
import ipaddress
import logging
import re
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Concatenate, Literal, ParamSpec, TypeVar, cast

import dns.exception
import dns.name
import dns.reversename
import dns.zone
from sqlalchemy import ColumnElement, Table, and_, delete, insert, select
from sqlalchemy.orm import Session, object_session

from central.core.config import CentralConfig
from central.core.db import now
from central.core.deps import Principal
from central.dns import lock
from central.dns import options as server_options
from central.dns.agent import PinnedDnsClient, client_for
from central.dns.models import DnsRecord, DnsServerOptions, DnsZone
from central.dns.schemas import (
    BulkFailure,
    BulkResult,
    ChangeApplied,
    FoundRecord,
    RecordView,
    Repoint,
    SyncResult,
    TtlChange,
    ZoneCreateRequest,
    ZoneFileView,
    ZoneImportRequest,
    ZoneImportView,
    ZoneOptions,
    ZoneUpdateRequest,
    ZoneView,
)
from central.dns.settle import settle
from central.history import service as history
from central.registry.models import Server
from services.common.dns.contract import (
    Change,
    ChangeResult,
    ChangeSet,
    ImportPreview,
    RecordData,
    ZoneContent,
    ZoneCreate,
    ZoneImport,
    ZoneImported,
    ZoneKind,
    ZonePublic,
    ZoneRows,
    ZoneUpdate,
)
from services.common.dns.options import recursion_warning
from services.common.dns.records import Record
from services.common.dns.validate import (
    Problem,
    RecordValidationError,
    build_record,
    plan_changes,
)
from services.common.errors import (
    BurrowError,
    ConflictError,
    FieldProblem,
    NotFoundError,
    ValidationError,
)
from services.common.problems import ProblemItem

log = logging.getLogger(__name__)

EXTERNAL = "external"
#: Records listed in one history entry at most (the count is always given).
HISTORY_RECORDS = 200


# --- views -----------------------------------------------------------------------------
def _warnings(zone: DnsZone) -> list[str]:
    """What keeps ``zone`` from working as meant: a forward or stub zone on a server with
    recursion off (``services.common.dns.options.recursion_warning``)."""
    if zone.kind not in (ZoneKind.forward.value, ZoneKind.stub.value):
        return []
    db = object_session(zone)
    row = db.get(DnsServerOptions, zone.server_id) if db is not None else None
    recursion = bool(row.options.get("recursion")) if row is not None else False
    warning = recursion_warning(zone.kind, recursion)
    return [warning] if warning else []


def zone_view(zone: DnsZone, server_name: str | None = None) -> ZoneView:
    return ZoneView(
        id=zone.id,
        server_id=zone.server_id,
        server=server_name,
        name=zone.name,
        kind=ZoneKind(zone.kind),
        enabled=zone.enabled,
        ttl=zone.ttl,
        serial=zone.serial,
        soa=zone.soa,
        options=ZoneOptions.model_validate(zone.spec or {}),
        record_count=zone.record_count,
        synced_at=zone.synced_at,
        created_at=zone.created_at,
        updated_at=zone.updated_at,
        warnings=_warnings(zone),
    )


#: Who wrote a record that DHCP's DNS updates made (``dhcp_update`` history entries).
DDNS_ACTOR = "kea-dhcp-ddns"


def dhcp_owners(db: Session, rows: Sequence[DnsRecord]) -> set[tuple[int, str]]:
    """(zone id, owner) of ``rows`` that hold a DHCID record: names DHCP's DNS updates wrote
    (Kea's DHCP-DDNS server puts a DHCID beside every name it adds, RFC 4701/4703)."""
    names = {row.name for row in rows}
    if not names:
        return set()
    found = db.execute(
        select(DnsRecord.zone_id, DnsRecord.name).where(
            DnsRecord.type == "DHCID",
            DnsRecord.zone_id.in_({row.zone_id for row in rows}),
            DnsRecord.name.in_(names),
        )
    )
    return {(zone_id, name) for zone_id, name in found}


def _origin(record: DnsRecord, dhcp: set[tuple[int, str]] | None) -> Literal["zone", "dhcp"]:
    return "dhcp" if dhcp and (record.zone_id, record.name) in dhcp else "zone"


def record_view(record: DnsRecord, dhcp: set[tuple[int, str]] | None = None) -> RecordView:
    return RecordView(
        id=record.id, zone_id=record.zone_id, name=record.name, type=record.type,
        ttl=record.ttl, data=record.data, origin=_origin(record, dhcp),
    )  # fmt: skip


def found_record(
    record: DnsRecord, zone_name: str | None, dhcp: set[tuple[int, str]] | None = None
) -> FoundRecord:
    return FoundRecord(
        id=record.id, zone_id=record.zone_id, name=record.name, type=record.type,
        ttl=record.ttl, data=record.data, zone=zone_name, origin=_origin(record, dhcp),
    )  # fmt: skip


def _owners_with_dhcid(lines: Iterable[str]) -> set[str]:
    return {line.split(" ", 1)[0] for line in lines if " IN DHCID " in line}


def _zone_view(zone: DnsZone) -> dict[str, Any]:
    return {
        "name": zone.name,
        "server_id": zone.server_id,
        "kind": zone.kind,
        "enabled": zone.enabled,
        "ttl": zone.ttl,
        "options": zone.spec,
    }


#: A record as Central stores it: owner (absolute, lowercased), type, TTL, data.
Row = tuple[str, str, int, str]


def _lines(records: Iterable[tuple[str, str, int, str]]) -> list[str]:
    return sorted(f"{n} {ttl} IN {t} {d}" for n, t, ttl, d in records)


def _capped(lines: list[str]) -> dict[str, Any]:
    return {"count": len(lines), "records": lines[:HISTORY_RECORDS]}


# --- lookups -----------------------------------------------------------------------------
def get_zone(db: Session, zone_id: int) -> DnsZone:
    zone = db.get(DnsZone, zone_id)
    if zone is None or zone.importing:
        raise NotFoundError(f"There is no DNS zone {zone_id}.", field="zone_id")
    return zone


def _fresh(db: Session, zone_id: int) -> DnsZone:
    """Zone ``zone_id`` read again from the database (it may have changed or gone meanwhile)."""
    zone = db.get(DnsZone, zone_id, populate_existing=True)
    if zone is None or zone.importing:
        raise NotFoundError(f"There is no DNS zone {zone_id}.", field="zone_id")
    return zone


def shown_zones() -> Any:
    """The condition on ``DnsZone`` of the zones anything may find (not being imported)."""
    return DnsZone.importing.is_(False)


def shown_records() -> Any:
    """The condition on ``DnsRecord`` of records of zones anything may find: a zone being
    imported has its records written before it is shown (``import_zone``)."""
    return DnsRecord.zone_id.not_in(select(DnsZone.id).where(DnsZone.importing.is_(True)))


def drop_unfinished_imports(db: Session) -> list[str]:
    """Delete the zones an import left hidden (Central stopped before its last transaction);
    their names. Run at Central's start, before any request."""
    zones = list(db.scalars(select(DnsZone).where(DnsZone.importing.is_(True))))
    for zone in zones:
        db.delete(zone)
    db.commit()
    return [zone.name for zone in zones]


#: Server and name of a zone by its id, for its lock: an id is never given to another zone
#: (migration ``0006_ids``) and a zone is never renamed, so what was once found stays true
#: (a deleted zone is found missing under its lock).
_zone_keys: dict[int, tuple[int, str]] = {}

P = ParamSpec("P")
R = TypeVar("R")


def zone_locked(
    func: Callable[Concatenate[Session, CentralConfig, Principal, int, P], R],
) -> Callable[Concatenate[Session, CentralConfig, Principal, int, P], R]:
    """Run ``func(db, config, actor, zone_id, ...)`` holding the lock of zone ``zone_id``
    (``central.dns.lock``). The zone is looked up without loading it into the session, so
    ``func`` reads it afresh under the lock (it may have been deleted while this waited)."""

    @functools.wraps(func)
    def wrapper(
        db: Session, config: CentralConfig, actor: Principal, zone_id: int, /,
        *args: P.args, **kwargs: P.kwargs,
    ) -> R:  # fmt: skip
        key = _zone_keys.get(zone_id)
        if key is None:
            found = db.execute(
                select(DnsZone.server_id, DnsZone.name).where(DnsZone.id == zone_id, shown_zones())
            ).first()
            if found is None:
                raise NotFoundError(f"There is no DNS zone {zone_id}.", field="zone_id")
            key = _zone_keys[zone_id] = (found.server_id, found.name)
        with lock.zone(*key):
            return func(db, config, actor, zone_id, *args, **kwargs)

    return wrapper


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
    """The zone's options as Central stores them: never a TSIG secret (a secondary zone's
    key is the dns-agent's to hold; Central keeps its name and algorithm)."""
    return zone.model_dump(
        mode="json",
        exclude={
            "name": True, "kind": True, "ttl": True, "enabled": True, "serial": True,
            "file": True, "records": True, "soa": True, "tsig_key": {"secret", "fingerprint"},
        },
    ) | {"soa": zone.soa.model_dump(mode="json")}  # fmt: skip


def _content_rows(ttl: int, content: ZoneContent | ZoneRows) -> list[Row]:
    """The records of ``content`` as rows: owner lowercased, ``ttl`` (the zone's) where none."""
    if isinstance(content, ZoneRows):
        return [(name.lower(), rtype, row_ttl, data) for name, rtype, row_ttl, data in content.rows]
    return [
        (r.name.lower(), r.type, r.ttl if r.ttl is not None else ttl, r.data)
        for r in content.records
    ]


def _store_content(
    db: Session,
    zone: DnsZone,
    content: ZoneContent | ZoneRows,
    rows: list[Row] | None = None,
    *,
    fresh: bool = False,
) -> None:
    """Make Central's records of ``zone`` what named serves (``rows``: ``content``'s rows,
    when the caller made them already; ``fresh``: the zone is new, it has no rows yet).

    Records that did not change keep their rows (and ids): a one-record change writes one
    row, not the whole zone, which keeps the database's pages and so its backups (issue 7,
    sent as deltas) small.
    """
    if rows is None:
        rows = _content_rows(zone.ttl, content)
    if fresh:
        _insert_rows(db, zone.id, rows)
        _stored(zone, content, len(rows))
        return
    wanted = Counter(rows)
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
    _insert_rows(db, zone.id, [row for row, count in wanted.items() for _ in range(count)])
    _stored(zone, content, len(rows))


def _stored(zone: DnsZone, content: ZoneContent | ZoneRows, count: int) -> None:
    zone.serial = content.serial
    zone.soa = content.soa.data
    zone.record_count = count
    zone.synced_at = now()
    zone.updated_at = now()


def _insert_rows(db: Session, zone_id: int, rows: list[Row]) -> None:
    """``rows`` of zone ``zone_id`` written by one executemany in the session's transaction,
    not as ORM objects or by the ORM's bulk path: for a zone import of tens of thousands of
    records the unit of work costs more than the database. On SQLite the rows go to the driver
    as they are (SQLAlchemy's handling of each row's parameters is a third of the time)."""
    if not rows:
        return
    connection = db.connection()
    if connection.dialect.paramstyle == "qmark":
        connection.exec_driver_sql(
            "INSERT INTO dns_records (zone_id, name, type, ttl, data) VALUES (?, ?, ?, ?, ?)",
            [(zone_id, *row) for row in rows],
        )
        return
    connection.execute(
        insert(cast(Table, DnsRecord.__table__)),
        [
            {"zone_id": zone_id, "name": name, "type": rtype, "ttl": ttl, "data": data}
            for name, rtype, ttl, data in rows
        ],
    )


#: Rows an import writes in one transaction: on SQLite, about 20 ms of the one writer.
IMPORT_TURN_ROWS = 2000


def _insert_in_turns(db: Session, zone_id: int, rows: list[Row]) -> None:
    """``rows`` of zone ``zone_id`` (hidden while being imported) written and committed
    ``IMPORT_TURN_ROWS`` at a time. On SQLite each turn is followed by a pause as long as the
    turn took: a change to another zone waiting for the one writer (SQLite's busy handler
    tries again after 1 to 100 ms) finds it free within a turn or two, instead of waiting
    for the whole import (a 30,000-record zone held it for 0.3 s, more on a busy machine)."""
    pause = db.get_bind().dialect.name == "sqlite"
    for start in range(0, len(rows), IMPORT_TURN_ROWS):
        began = time.monotonic()
        _insert_rows(db, zone_id, rows[start : start + IMPORT_TURN_ROWS])
        db.commit()
        if pause and start + IMPORT_TURN_ROWS < len(rows):
            time.sleep(time.monotonic() - began)


def _content_lines(zone: DnsZone, content: ZoneContent | ZoneRows) -> list[str]:
    return _lines(_content_rows(zone.ttl, content))


def _row_lines(rows: Iterable[DnsRecord]) -> list[str]:
    return _lines((r.name, r.type, r.ttl, r.data) for r in rows)


def _stored_lines(db: Session, zone: DnsZone) -> list[str]:
    """Central's records of ``zone`` as lines, read as plain rows (no ORM objects: a zone of
    60,000 records is read in a fraction of the time)."""
    rows = db.execute(
        select(DnsRecord.name, DnsRecord.type, DnsRecord.ttl, DnsRecord.data).where(
            DnsRecord.zone_id == zone.id
        )
    )
    return _lines((name, rtype, ttl, data) for name, rtype, ttl, data in rows)


# --- zones -------------------------------------------------------------------------------
def _validate_records(
    name: str, records: Sequence[RecordData], ttl: int, strict_hostnames: bool = False
) -> None:
    origin = dns.name.from_text(name)
    problems: list[Problem] = []
    for index, spec in enumerate(records):
        build_record(spec, origin, ttl, f"records[{index}]", problems, strict_hostnames)
    if problems:
        raise RecordValidationError(problems)


def _new_zone(
    db: Session, server_id: int, public: ZonePublic, *, importing: bool = False
) -> DnsZone:
    zone = DnsZone(
        server_id=server_id,
        importing=importing,
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
        raise ConflictError(f"Zone {name} already exists on server {server_id}.", field="name")


def _served_zone(client: PinnedDnsClient, name: str) -> ZonePublic | None:
    """The zone as the agent has it, or None if it has none of that name."""
    try:
        return client.zone(name)
    except NotFoundError:
        return None


def _made(client: PinnedDnsClient, what: str, make: Any, name: str) -> ZonePublic:
    """``make()`` (which creates zone ``name``), settled by reading the zone back."""
    found = settle(make, lambda: _served_zone(client, name), what=what)
    assert isinstance(found, ZonePublic)
    return found


def create_zone(
    db: Session, config: CentralConfig, actor: Principal, body: ZoneCreateRequest
) -> ZoneView:
    spec = ZoneCreate.model_validate(body.model_dump(exclude={"server_id", "comment"}))
    _validate_records(spec.name, spec.records, spec.ttl, spec.strict_hostnames)
    with lock.zone(body.server_id, spec.name):
        return _create_zone(db, config, actor, body, spec)


def _create_zone(
    db: Session,
    config: CentralConfig,
    actor: Principal,
    body: ZoneCreateRequest,
    spec: ZoneCreate,
) -> ZoneView:
    client = client_for(db, config, body.server_id)
    _taken(db, body.server_id, spec.name)
    public = _made(
        client, f"Creating zone {spec.name}", lambda: client.create_zone(spec), spec.name
    )
    # Everything is read from the agent before the first row is written: a write transaction
    # (SQLite's one writer) is held only while rows are written, not over calls to the agent.
    content = None
    if public.kind == ZoneKind.primary and public.enabled:
        content = client.records(public.name)
    zone = _new_zone(db, body.server_id, public)
    lines: list[str] = []
    if content is not None:
        _store_content(db, zone, content)
        lines = _content_lines(zone, content)
    history.record(
        db, actor, "dns-zone", zone.id, "create",
        after=_zone_view(zone) | {"records": _capped(lines)}, comment=body.comment,
    )  # fmt: skip
    db.commit()
    return zone_view(zone)


def _import_request(body: ZoneImportRequest) -> ZoneImport:
    return ZoneImport.model_validate(body.model_dump(exclude={"server_id", "comment"}))


def preview_import(db: Session, config: CentralConfig, body: ZoneImportRequest) -> ImportPreview:
    """The agent's preview of an import (its reader, its plan and named-checkzone)."""
    client = client_for(db, config, body.server_id)
    _taken(db, body.server_id, body.name)
    return client.preview_import(_import_request(body))


def import_zone(
    db: Session, config: CentralConfig, actor: Principal, body: ZoneImportRequest
) -> ZoneImportView:
    """The agent reads the file and answers every problem of it at once, each at its line;
    Central passes them on as they are. Records left out (``leave_out_refused``) are listed
    in the answer and the history."""
    with lock.zone(body.server_id, body.name):
        return _import_zone(db, config, actor, body)


def _import_zone(
    db: Session, config: CentralConfig, actor: Principal, body: ZoneImportRequest
) -> ZoneImportView:
    client = client_for(db, config, body.server_id)
    _taken(db, body.server_id, body.name)
    request = _import_request(body)
    started = time.monotonic()
    public = _made(
        client,
        f"Importing zone {body.name}",
        lambda: client.import_zone(request, records=True),
        body.name,
    )
    imported = time.monotonic()
    left_out = public.left_out if isinstance(public, ZoneImported) else []
    # The records as named serves them: in the agent's answer when it saw named serve the
    # file's serial, read back otherwise; before any row is written (see create_zone).
    content: ZoneContent | ZoneRows | None = None
    if isinstance(public, ZoneImported):
        content = public.content
    if content is None:
        content = client.records(public.name)
    # Made before the first row is written: the rows then go in in short transactions.
    rows = _content_rows(public.ttl, content)
    lines = _lines(rows)
    read = time.monotonic()
    zone = _new_zone(db, body.server_id, public, importing=True)
    db.commit()
    try:
        _insert_in_turns(db, zone.id, rows)
        stored = time.monotonic()
        _stored(zone, content, len(rows))
        zone.importing = False
        after = _zone_view(zone) | {"records": _capped(lines)}
        if left_out:
            after["left_out"] = [
                refusal.model_dump(exclude={"can_leave_out"}) for refusal in left_out
            ]
        history.record(
            db, actor, "dns-zone", zone.id, "import", after=after, comment=body.comment,
        )  # fmt: skip
        db.commit()
    except BaseException:
        db.rollback()
        db.execute(delete(DnsZone).where(DnsZone.id == zone.id))
        db.commit()
        raise
    log.info(
        "import of %s: %d records; agent %.2f s, read back %.2f s, stored %.2f s, "
        "history and commit %.2f s",
        body.name, len(rows), imported - started, read - imported, stored - read,
        time.monotonic() - stored,
    )  # fmt: skip
    return ZoneImportView(**zone_view(zone).model_dump(), left_out=left_out)


def export_zone(db: Session, zone_id: int) -> ZoneFileView:
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
    return ZoneFileView(zone=zone.name, serial=zone.serial, text="\n".join(lines) + "\n")


@zone_locked
def delete_zone(
    db: Session, config: CentralConfig, actor: Principal, zone_id: int, comment: str
) -> None:
    zone = get_zone(db, zone_id)
    lines = _stored_lines(db, zone)
    client = client_for(db, config, zone.server_id)

    def delete() -> bool:
        client.delete_zone(zone.name)
        return True

    settle(
        delete,
        lambda: True if _served_zone(client, zone.name) is None else None,
        what=f"Deleting zone {zone.name}",
    )
    history.record(
        db, actor, "dns-zone", zone.id, "delete",
        before=_zone_view(zone) | {"records": _capped(lines)}, comment=comment,
    )  # fmt: skip
    db.delete(zone)
    db.commit()


@zone_locked
def set_enabled(
    db: Session, config: CentralConfig, actor: Principal, zone_id: int, enabled: bool, comment: str
) -> ZoneView:
    zone = get_zone(db, zone_id)
    before = _zone_view(zone)
    client = client_for(db, config, zone.server_id)

    def check() -> ZonePublic | None:
        served = _served_zone(client, zone.name)
        return served if served is not None and served.enabled == enabled else None

    action = "Enabling" if enabled else "Disabling"
    public = settle(
        lambda: client.set_enabled(zone.name, enabled), check, what=f"{action} zone {zone.name}"
    )
    assert isinstance(public, ZonePublic)
    zone.enabled = public.enabled
    zone.updated_at = now()
    history.record(
        db, actor, "dns-zone", zone.id, "enable" if enabled else "disable", before=before,
        after=_zone_view(zone), comment=comment,
    )  # fmt: skip
    db.commit()
    return zone_view(zone)


def _has_update(public: ZonePublic, update: ZoneUpdate) -> bool:
    """``public`` holds every field ``update`` sets."""
    for name in update.model_fields_set:
        wanted = getattr(update, name)
        if name == "soa" and wanted is not None:
            soa = public.soa
            if any(getattr(soa, f) != getattr(wanted, f) for f in wanted.model_fields_set):
                return False
        elif name == "dnssec_policy" and wanted is None and public.dnssec_policy == "insecure":
            continue  # unsigning goes through BIND's insecure policy first
        elif name == "tsig_key" and wanted is not None and public.tsig_key is not None:
            # The agent answers the secret's fingerprint, never the secret.
            shown, given = public.tsig_key, wanted.shown()
            if (shown.name, shown.algorithm, shown.fingerprint) != (
                given.name,
                given.algorithm,
                given.fingerprint,
            ):
                return False
        elif getattr(public, name) != wanted:
            return False
    return True


@zone_locked
def update_zone(
    db: Session, config: CentralConfig, actor: Principal, zone_id: int, body: ZoneUpdateRequest
) -> ZoneView:
    zone = get_zone(db, zone_id)
    update = ZoneUpdate.model_validate(body.model_dump(exclude={"comment"}, exclude_unset=True))
    if not update.model_fields_set:
        raise ValidationError("Give at least one field to change.", field="body")
    before = _zone_view(zone)
    client = client_for(db, config, zone.server_id)

    def check() -> ZonePublic | None:
        served = _served_zone(client, zone.name)
        return served if served is not None and _has_update(served, update) else None

    public = settle(
        lambda: client.update_zone(zone.name, update), check, what=f"Changing zone {zone.name}"
    )
    assert isinstance(public, ZonePublic)
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
    return zone_view(zone)


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
) -> ChangeApplied:
    """Check, send and store one change set of ``zone`` (the caller commits).

    Every check of the shared model is about the owners a change set touches and the apex
    (duplicates, CNAME and DNAME rules, the apex's NS, RRset TTLs), so only their records are
    read from Central's database when the change set is small.

    Central stores the outcome of the plan the agent applied (the records added and removed,
    the TTLs of the RRsets they joined, the serial named gives), rather than reading the whole
    zone back: a single change costs the same in a zone of ten records or of ten thousand. A
    change made on the server behind Central's back meanwhile stays for the sync to find.

    If the agent stops answering after the change was sent, the zone is read back
    (``central.dns.settle``): Central stores and records what named serves.
    """
    _primary(zone)
    origin = dns.name.from_text(zone.name)
    rows = _rows_touched(db, zone, origin, changes)
    pairs = _parsed(zone, rows)
    strict = bool((zone.spec or {}).get("strict_hostnames", False))
    plan = plan_changes(
        origin, [record for _row, record in pairs], changes, zone.ttl, strict_hostnames=strict
    )
    request = ChangeSet(changes=list(changes), comment=comment)
    added_lines = {_record_line(r) for r in plan.adds}
    removed_lines = {_record_line(r) for r in plan.deletes} - added_lines

    def check() -> ZoneContent | None:
        content = client.records(zone.name)
        served = set(_content_lines(zone, content))
        in_effect = bool(added_lines & served) or bool(removed_lines - served)
        return content if in_effect else None

    outcome = settle(
        lambda: client.apply(zone.name, request), check, what=f"Changing zone {zone.name}"
    )
    if isinstance(outcome, ZoneContent):
        return _settled(db, client, actor, zone, changes, outcome, comment, action)
    assert isinstance(outcome, ChangeResult)
    result = outcome
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
    return ChangeApplied(
        zone_id=zone.id, zone=zone.name, applied=result.applied, serial=result.serial
    )


def _settled(
    db: Session,
    client: PinnedDnsClient,
    actor: Principal,
    zone: DnsZone,
    changes: Sequence[Change],
    content: ZoneContent,
    comment: str,
    action: str,
) -> ChangeApplied:
    """Store a change set found in effect by reading the zone back (its answer was lost):
    what named serves, with a history entry that says how Central knows."""
    before = set(_stored_lines(db, zone))
    after = set(_content_lines(zone, content))
    _store_content(db, zone, content)
    history.record(
        db, actor, "dns-zone", zone.id, action,
        before={"zone": zone.name, "records": _capped(sorted(before - after))},
        after={
            "zone": zone.name,
            "serial": content.serial,
            "records": _capped(sorted(after - before)),
            "changes": len(changes),
            "settled": "the dns-agent stopped answering after the change was sent; Central "
            "read the zone back from named and found it applied",
        },
        comment=comment,
    )  # fmt: skip
    for reverse in _ptr_zones_of(db, zone, changes):
        _refresh_ptr_zone(db, client, actor, zone, reverse, comment)
    return ChangeApplied(
        zone_id=zone.id, zone=zone.name, applied=len(changes), serial=content.serial, settled=True
    )


def _ptr_zones_of(db: Session, zone: DnsZone, changes: Sequence[Change]) -> list[str]:
    """Central's reverse zones of ``zone``'s server that hold a PTR ``changes`` asked for."""
    names: set[dns.name.Name] = set()
    for change in changes:
        if not change.ptr:
            continue
        for spec in (change.record, change.new):
            if spec is not None and spec.type in ("A", "AAAA"):
                try:
                    names.add(dns.reversename.from_address(spec.data.strip()))
                except (dns.exception.DNSException, ValueError):
                    continue
    if not names:
        return []
    reverse = db.scalars(
        select(DnsZone.name).where(
            DnsZone.server_id == zone.server_id, DnsZone.name.like("%.arpa."), shown_zones()
        )
    ).all()
    found = set()
    for name in names:
        holders = [z for z in reverse if name.is_subdomain(dns.name.from_text(z))]
        if holders:
            found.add(max(holders, key=len))
    return sorted(found)


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
    """Store a reverse zone whose PTR records a change set of ``zone`` moved, if Central has it
    (under the reverse zone's lock, taken after ``zone``'s: see ``central.dns.lock``)."""
    with lock.zone(zone.server_id, name):
        _refresh_locked_ptr_zone(db, client, actor, zone, name, comment)


def _refresh_locked_ptr_zone(
    db: Session,
    client: PinnedDnsClient,
    actor: Principal,
    zone: DnsZone,
    name: str,
    comment: str,
) -> None:
    reverse = db.scalar(
        select(DnsZone).where(
            DnsZone.server_id == zone.server_id, DnsZone.name == name, shown_zones()
        )
    )
    if reverse is None:
        return
    before = set(_stored_lines(db, reverse))
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


@zone_locked
def apply_changes(
    db: Session, config: CentralConfig, actor: Principal, zone_id: int, body: ChangeSet
) -> ChangeApplied:
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
) -> BulkResult:
    """One change set per zone, each applied and committed on its own (atomic per zone).

    A zone whose change set is refused is listed in ``failed`` with the problem as the agent
    gave it; when the only zone fails, its problem is the answer."""
    done: list[ChangeApplied] = []
    failed: list[BulkFailure] = []
    for zone_id in sorted(by_zone):
        zone = get_zone(db, zone_id)
        changes = [make(row) for row in by_zone[zone_id]]
        try:
            with lock.zone(zone.server_id, zone.name):
                zone = _fresh(db, zone_id)
                client = client_for(db, config, zone.server_id)
                done.append(_apply(db, client, actor, zone, changes, comment, action))
                db.commit()
        except BurrowError as exc:
            db.rollback()
            if not done and len(by_zone) == 1:
                raise
            failed.append(
                BulkFailure(
                    zone_id=zone_id, zone=zone.name, status=exc.status, detail=exc.message,
                    problems=[ProblemItem.model_validate(p.as_dict()) for p in exc.problems],
                )
            )  # fmt: skip
    return BulkResult(zones=done, failed=failed, changed=sum(z.applied for z in done))


def _record_data(row: DnsRecord, **changes: Any) -> RecordData:
    return RecordData(
        name=row.name, type=row.type, ttl=changes.get("ttl", row.ttl),
        data=changes.get("data", row.data),
    )  # fmt: skip


def set_ttl(db: Session, config: CentralConfig, actor: Principal, body: TtlChange) -> BulkResult:
    query = select(DnsRecord).where(name_condition(db, body.pattern), shown_records())
    if body.type:
        query = query.where(DnsRecord.type == body.type.upper())
    by_zone = _matching(db, query.where(DnsRecord.ttl != body.ttl))
    if not by_zone:
        return BulkResult(zones=[], failed=[], changed=0)
    return _bulk(
        db, config, actor, by_zone,
        lambda row: Change(action="update", record=_record_data(row),
                           new=_record_data(row, ttl=body.ttl)),
        body.comment, "set-ttl",
    )  # fmt: skip


def repoint(db: Session, config: CentralConfig, actor: Principal, body: Repoint) -> BulkResult:
    problems = []
    for field in ("old", "new"):
        try:
            ipaddress.ip_address(getattr(body, field))
        except ValueError:
            problems.append(FieldProblem(field, "not an IP address"))
    if problems:
        raise ValidationError(f"{problems[0].field}: not an IP address", problems=problems)
    old, new = ipaddress.ip_address(body.old), ipaddress.ip_address(body.new)
    if old.version != new.version:
        raise ValidationError("old and new must be of the same IP version.", field="new")
    rtype = "A" if old.version == 4 else "AAAA"
    query = select(DnsRecord).where(
        DnsRecord.type == rtype, DnsRecord.data == str(old), shown_records()
    )
    by_zone = _matching(db, query)
    if not by_zone:
        return BulkResult(zones=[], failed=[], changed=0)
    return _bulk(
        db, config, actor, by_zone,
        lambda row: Change(action="update", record=_record_data(row),
                           new=_record_data(row, data=str(new))),
        body.comment, "repoint",
    )  # fmt: skip


# --- sync --------------------------------------------------------------------------------
def sync_server(db: Session, config: CentralConfig, server_id: int) -> SyncResult:
    """Read every zone and the options of ``server_id`` back; the server wins any difference.

    Each zone is read back and stored under its own lock and committed on its own, so changes
    to other zones go on meanwhile, and a change of this zone is never half seen.
    """
    client = client_for(db, config, server_id)
    served = {z.name: z for z in client.zones()}
    known = set(db.scalars(select(DnsZone.name).where(DnsZone.server_id == server_id)))
    changed: list[str] = []
    for name in sorted(set(served) | known):
        with lock.zone(server_id, name):
            try:
                if _sync_zone(db, client, server_id, name, served.get(name)):
                    changed.append(name)
                db.commit()
            except BaseException:
                db.rollback()
                raise
    with lock.options(server_id):
        options_changed = server_options.sync_options(db, client, server_id)
        db.commit()
    return SyncResult(
        server_id=server_id,
        zones=len(served),
        changed=sorted(changed),
        options_changed=options_changed,
    )


def _sync_zone(
    db: Session, client: PinnedDnsClient, server_id: int, name: str, listed: ZonePublic | None
) -> bool:
    """Make Central's zone ``name`` what the server serves (the caller holds its lock and
    commits); True if they differed."""
    zone = db.scalar(
        select(DnsZone)
        .where(DnsZone.server_id == server_id, DnsZone.name == name)
        .execution_options(populate_existing=True)
    )
    public = listed
    if (zone is None) != (public is None):
        # created or deleted through Central between the list and this zone's lock
        public = _served_zone(client, name)
    if public is None:
        if zone is None:
            return False
        history.record(
            db, EXTERNAL, "dns-zone", zone.id, "external-change",
            before=_zone_view(zone), comment="the zone is gone from the server",
        )  # fmt: skip
        db.delete(zone)
        return True
    content = None
    if public.kind == ZoneKind.primary and public.enabled:
        try:  # read before any row is written (see create_zone)
            content = client.records(name)
        except (NotFoundError, ConflictError):
            log.info("zone %s changed on the server during the sync; the next one reads it", name)
            return False
    changed = False
    if zone is None:
        zone = _new_zone(db, server_id, public)
        history.record(
            db, EXTERNAL, "dns-zone", zone.id, "external-change",
            after=_zone_view(zone), comment="a zone found on the server",
        )  # fmt: skip
        changed = True
    elif zone.enabled != public.enabled or zone.kind != public.kind.value:
        before = _zone_view(zone)
        zone.enabled, zone.kind = public.enabled, public.kind.value
        history.record(
            db, EXTERNAL, "dns-zone", zone.id, "external-change",
            before=before, after=_zone_view(zone), comment="found on the server at sync",
        )  # fmt: skip
        changed = True
    if public.kind == ZoneKind.secondary and public.enabled:
        _store_transferred(db, client, zone)
        return changed
    if content is None:
        return changed
    before_lines = set(_stored_lines(db, zone))
    after_lines = set(_content_lines(zone, content))
    if before_lines != after_lines:
        _store_content(db, zone, content)
        _record_found_changes(db, zone, content.serial, before_lines, after_lines)
        return True
    zone.serial, zone.soa, zone.synced_at = content.serial, content.soa.data, now()
    return changed


def _record_found_changes(
    db: Session, zone: DnsZone, serial: int, before: set[str], after: set[str]
) -> None:
    """The history of records a sync found changed: names DHCP's DNS updates wrote (a DHCID
    beside them, before or after) as ``dhcp-update`` by ``kea-dhcp-ddns``; the rest as an
    ``external-change``."""
    removed, added = before - after, after - before
    dhcp = _owners_with_dhcid(before | after)

    def split(lines: set[str], by_dhcp: bool) -> list[str]:
        return sorted(line for line in lines if (line.split(" ", 1)[0] in dhcp) == by_dhcp)

    for by_dhcp, actor, action, comment in (
        (True, DDNS_ACTOR, "dhcp-update", "written by DHCP's DNS updates (kea-dhcp-ddns)"),
        (False, EXTERNAL, "external-change",
         "changed on the server behind Central's back; the server wins"),
    ):  # fmt: skip
        gone, new = split(removed, by_dhcp), split(added, by_dhcp)
        if not gone and not new:
            continue
        history.record(
            db, actor, "dns-zone", zone.id, action,
            before={"zone": zone.name, "records": _capped(gone)},
            after={"zone": zone.name, "serial": serial, "records": _capped(new)},
            comment=comment,
        )  # fmt: skip


def _store_transferred(db: Session, client: PinnedDnsClient, zone: DnsZone) -> bool:
    """Store the serial and the records named serves for secondary ``zone`` (what it
    transferred from its primaries); False when named has not loaded the zone yet."""
    try:
        content = client.records(zone.name)
    except BurrowError as exc:
        log.info("secondary zone %s not read: %s", zone.name, exc.message)
        return False
    _store_content(db, zone, content)
    return True


def refresh_secondary(db: Session, config: CentralConfig, zone: DnsZone) -> DnsZone:
    """A secondary zone as named serves it now (read on every read of the zone: its
    primaries change it, not Central). Central's copy stays when the server cannot answer."""
    if zone.kind != ZoneKind.secondary.value or not zone.enabled:
        return zone
    try:
        client = client_for(db, config, zone.server_id)
        with lock.zone(zone.server_id, zone.name):
            if _store_transferred(db, client, zone):
                db.commit()
    except BurrowError as exc:
        db.rollback()
        log.info("secondary zone %s not refreshed: %s", zone.name, exc.message)
    return zone


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
