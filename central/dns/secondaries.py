"""Secondaries of a primary zone on other DNS servers of the registry, made in one action.

Given a primary zone and DNS servers of other appliances (a fleet's members, docs/fleet.md),
Central makes for each one a TSIG key of the primary's server (``xfr-z<zone>-s<server>``), lets
that key transfer the zone and has named notify the secondary's address (``transfer_keys``,
``also_notify``, ``notify: explicit``), then makes the secondary zone on that server with the
primary's address and the key. Transfers are signed; a change on the primary reaches every
copy by NOTIFY. Every copy and its serial is listed with the zone (``/copies``). A secondary
keeps answering when the primary's appliance is gone, until the zone's SOA expire time.

A request is checked whole before anything changes; if a step fails, the steps done before it
are undone, so the zone ends as it was.
"""

from __future__ import annotations

import logging
from typing import Annotated

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from central.core.config import CentralConfig
from central.core.deps import Principal
from central.dns import keys, lock
from central.dns import service as dns_service
from central.dns.agent import not_dns
from central.dns.keys import TsigKeyRequest
from central.dns.models import DnsTsigKey, DnsZone
from central.dns.schemas import ZoneCreateRequest, ZoneUpdateRequest
from central.registry.models import Server
from services.common.dns.contract import ZoneKind
from services.common.errors import BurrowError, ConflictError, FieldProblem, ValidationError
from services.common.model import Input

log = logging.getLogger(__name__)


class SecondariesRequest(Input):
    """DNS servers that get a secondary copy of the zone."""

    server_ids: Annotated[list[Annotated[int, Field(ge=1, le=2**31 - 1)]],
                          Field(min_length=1, max_length=16)]  # fmt: skip
    comment: str = Field(default="", max_length=1000, description="save comment")


class ZoneCopies(BaseModel):
    """A primary zone's copies: the primary first, then each secondary."""

    zone_id: int
    items: list[ZoneCopy]


class ZoneCopy(BaseModel):
    """One copy of a zone: the primary or a secondary, and the serial its named serves."""

    zone_id: int
    server_id: int
    server: str
    address: str
    kind: str
    serial: int | None
    in_step: bool = Field(description="serves the primary's serial")


def key_name(zone: DnsZone, server_id: int) -> str:
    return f"xfr-z{zone.id}-s{server_id}"


def _primary_zone(db: Session, zone_id: int) -> DnsZone:
    zone = dns_service.get_zone(db, zone_id)
    if zone.kind != ZoneKind.primary.value:
        raise ValidationError(
            f"Zone {zone.name} is a {zone.kind} zone; only a primary zone has secondaries.",
            field="zone_id",
        )
    return zone


def _checked(db: Session, zone: DnsZone, server_ids: list[int]) -> list[Server]:
    problems: list[FieldProblem] = []
    servers: list[Server] = []
    for index, server_id in enumerate(server_ids):
        field = f"server_ids[{index}]"
        server = db.get(Server, server_id)
        if server is None:
            problems.append(FieldProblem(field, f"there is no DNS server {server_id}"))
        elif server.kind != "dns":
            problems.append(FieldProblem(field, not_dns(server, field).message))
        elif server_id == zone.server_id:
            problems.append(FieldProblem(field, "the primary's own server"))
        elif server_id in server_ids[:index]:
            problems.append(FieldProblem(field, f"server {server_id} is given twice"))
        elif db.scalar(select(DnsZone.id).where(DnsZone.server_id == server_id,
                                                DnsZone.name == zone.name)):  # fmt: skip
            problems.append(FieldProblem(field, f"{server.name} has a zone {zone.name} already"))
        else:
            servers.append(server)
    if problems:
        raise ValidationError(f"{problems[0].field}: {problems[0].message}", problems=problems)
    return servers


def add_secondaries(
    db: Session, config: CentralConfig, actor: Principal, zone_id: int, body: SecondariesRequest
) -> list[ZoneCopy]:
    zone = _primary_zone(db, zone_id)
    servers = _checked(db, zone, body.server_ids)
    primary = db.get(Server, zone.server_id)
    assert primary is not None
    comment = body.comment or f"secondaries of {zone.name}"
    made_keys: list[int] = []
    made_zones: list[int] = []
    before = dict(zone.spec or {})
    try:
        secrets: dict[int, tuple[str, str, str]] = {}
        for server in servers:
            created = keys.create_key(db, config, actor, TsigKeyRequest(
                server_id=primary.id, name=key_name(zone, server.id), comment=comment,
            ))  # fmt: skip
            made_keys.append(created.id)
            secrets[server.id] = (created.name, created.algorithm, created.secret)
        _set_primary(db, config, actor, zone, before, servers, [], comment)
        for server in servers:
            name, algorithm, secret = secrets[server.id]
            request = ZoneCreateRequest.model_validate({
                "server_id": server.id, "name": zone.name, "kind": "secondary",
                "primaries": [primary.address],
                "tsig_key": {"name": name, "algorithm": algorithm, "secret": secret},
                "comment": comment,
            })  # fmt: skip
            view = dns_service.create_zone(db, config, actor, request)
            made_zones.append(view.id)
    except BurrowError:
        db.rollback()
        _undo(db, config, actor, zone, before, made_zones, made_keys)
        raise
    return copies(db, config, zone.id)


def _set_primary(
    db: Session, config: CentralConfig, actor: Principal, zone: DnsZone, spec: dict[str, object],
    added: list[Server], removed: list[Server], comment: str,
) -> None:  # fmt: skip
    """The primary zone's transfer keys and notified addresses with ``added`` and without
    ``removed`` secondaries' (``spec``: the zone's options to start from)."""
    transfer = [k for k in list(spec.get("transfer_keys") or [])  # type: ignore[call-overload]
                if k not in {key_name(zone, s.id) for s in removed}]  # fmt: skip
    notify_to = [a for a in list(spec.get("also_notify") or [])  # type: ignore[call-overload]
                 if a not in {s.address for s in removed}]  # fmt: skip
    for server in added:
        if key_name(zone, server.id) not in transfer:
            transfer.append(key_name(zone, server.id))
        if server.address not in notify_to:
            notify_to.append(server.address)
    notify = str(spec.get("notify") or "no")
    if notify_to and notify == "no":
        notify = "explicit"
    with lock.zone(zone.server_id, zone.name):
        request = ZoneUpdateRequest.model_validate({
            "transfer_keys": transfer, "also_notify": notify_to, "notify": notify,
            "comment": comment,
        })  # fmt: skip
        dns_service.update_zone(db, config, actor, zone.id, request)


def _undo(
    db: Session, config: CentralConfig, actor: Principal, zone: DnsZone, spec: dict[str, object],
    zone_ids: list[int], key_ids: list[int],
) -> None:  # fmt: skip
    """Put back what ``add_secondaries`` did before it failed (best effort, each step logged)."""
    for made in zone_ids:
        try:
            dns_service.delete_zone(db, config, actor, made, "undone: the secondaries failed")
        except BurrowError as exc:
            log.error("secondary zone %d not undone: %s", made, exc.message)
    try:
        fresh = dns_service.get_zone(db, zone.id)
        if dict(fresh.spec or {}) != spec:
            _set_primary(db, config, actor, fresh, spec, [], [], "undone: the secondaries failed")
    except BurrowError as exc:
        log.error("zone %s's options not put back: %s", zone.name, exc.message)
    for key_id in key_ids:
        try:
            keys.delete_key(db, config, actor, key_id, "undone: the secondaries failed")
        except BurrowError as exc:
            log.error("TSIG key %d not undone: %s", key_id, exc.message)


def remove_secondary(
    db: Session, config: CentralConfig, actor: Principal, zone_id: int, server_id: int,
    comment: str,
) -> list[ZoneCopy]:  # fmt: skip
    """Delete the copy on ``server_id``, its transfer key and the primary's notify to it."""
    zone = _primary_zone(db, zone_id)
    copy = db.scalar(select(DnsZone).where(DnsZone.server_id == server_id,
                                           DnsZone.name == zone.name))  # fmt: skip
    server = db.get(Server, server_id)
    if copy is None or server is None or copy.kind != ZoneKind.secondary.value:
        raise ConflictError(f"Server {server_id} has no secondary of {zone.name}.",
                            field="server_id")  # fmt: skip
    comment = comment or f"secondary of {zone.name} removed"
    dns_service.delete_zone(db, config, actor, copy.id, comment)
    _set_primary(db, config, actor, zone, dict(zone.spec or {}), [], [server], comment)
    key = db.scalar(
        select(DnsTsigKey).where(
            DnsTsigKey.server_id == zone.server_id, DnsTsigKey.name == key_name(zone, server_id)
        )
    )
    if key is not None:
        keys.delete_key(db, config, actor, key.id, comment)
    return copies(db, config, zone.id)


def copies(db: Session, config: CentralConfig, zone_id: int) -> list[ZoneCopy]:
    """The primary zone and every secondary of it on the registry's servers (read from their
    named now), the primary first."""
    zone = _primary_zone(db, zone_id)
    primary = db.get(Server, zone.server_id)
    assert primary is not None
    found = [ZoneCopy(zone_id=zone.id, server_id=primary.id, server=primary.name,
                      address=primary.address, kind=zone.kind, serial=zone.serial,
                      in_step=True)]  # fmt: skip
    others = db.scalars(select(DnsZone).where(
        DnsZone.name == zone.name, DnsZone.kind == ZoneKind.secondary.value,
        DnsZone.server_id != zone.server_id, dns_service.shown_zones(),
    ).order_by(DnsZone.server_id))  # fmt: skip
    for other in list(others):
        if primary.address not in list((other.spec or {}).get("primaries") or []):
            continue
        other = dns_service.refresh_secondary(db, config, other)
        server = db.get(Server, other.server_id)
        assert server is not None
        found.append(ZoneCopy(zone_id=other.id, server_id=server.id, server=server.name,
                              address=server.address, kind=other.kind, serial=other.serial,
                              in_step=other.serial == zone.serial))  # fmt: skip
    return found
