"""Reverse zones that follow the address space: for a range, make the reverse zones that hold
its addresses on a DNS server and the PTR records of the A/AAAA records Central knows there,
in one action.

A reverse zone is a whole ``/24`` (``c.b.a.in-addr.arpa.``) for IPv4 and a ``/64`` (16
nibbles) for IPv6: the zones every resolver understands without classless delegation. A zone
that exists already is used as it is; a missing one is made as a primary zone with the
server's defaults. For every A/AAAA record of the server's zones whose address is in the range
and whose PTR is missing, the PTR is created (a change set per reverse zone, atomic per zone);
a PTR that names another host is left as it is and listed (the address view shows it as
``ptr-mismatch``). Changes made afterwards with ``"ptr": true`` keep the two in step.
"""

from __future__ import annotations

import ipaddress
from typing import Annotated, Any

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from central.core.config import CentralConfig
from central.core.deps import Principal
from central.dns import service as dns_service
from central.dns.agent import not_dns
from central.dns.models import DnsRecord, DnsZone
from central.dns.schemas import ZoneCreateRequest
from central.ipam import addresses as ad
from central.ipam.models import IpamRange
from central.ipam.service import range_span
from central.registry.models import Server
from services.common.dns.contract import ChangeSet
from services.common.errors import ValidationError
from services.common.model import Input

#: The most reverse zones one request makes (a /16 of IPv4 is 256).
MAX_ZONES = 256


class ReverseRequest(Input):
    server_id: Annotated[
        int | None, Field(ge=1, le=2**31 - 1, description="the DNS server; default: the only one")
    ] = None
    comment: str = Field(default="", max_length=1000)


class ReverseResult(BaseModel):
    server_id: int
    zones: list[str] = Field(description="the reverse zones that hold the range")
    created_zones: list[str]
    created_ptrs: int
    mismatched: list[dict[str, Any]] = Field(
        description="PTRs that name another host, left as they are"
    )


def zone_names(rng: IpamRange) -> list[str]:
    """The /24 (IPv4) or /64 (IPv6) reverse zones that hold the range's addresses."""
    span = range_span(rng)
    bits, unit = (32, 24) if span.family == 4 else (128, 64)
    step = 1 << (bits - unit)
    first = span.first >> (bits - unit)
    last = span.last >> (bits - unit)
    if last - first + 1 > MAX_ZONES:
        raise ValidationError(f"The range spans {last - first + 1:,} reverse zones; one request "
                              f"makes at most {MAX_ZONES}.", field="range_id")  # fmt: skip
    return [
        ad.reverse_suffix(ad.Span(span.family, index * step, index * step + step - 1))
        for index in range(first, last + 1)
    ]


def _server(db: Session, body: ReverseRequest) -> Server:
    if body.server_id is not None:
        server = db.get(Server, body.server_id)
        if server is None:
            raise ValidationError(f"There is no DNS server {body.server_id}.", field="server_id")
        if server.kind != "dns":
            raise not_dns(server)
        return server
    servers = list(db.scalars(select(Server).where(Server.kind == "dns")))
    if not servers:
        raise ValidationError(
            "Central manages no DNS server (BIND) to hold reverse zones; a caching server "
            "(Unbound) holds none.",
            field="server_id",
        )
    if len(servers) != 1:
        raise ValidationError("Name the DNS server: there are several.", field="server_id")
    return servers[0]


def make_reverse(
    db: Session, config: CentralConfig, actor: Principal, rng: IpamRange, body: ReverseRequest
) -> ReverseResult:
    names = zone_names(rng)
    server = _server(db, body)
    span = range_span(rng)
    comment = body.comment or f"reverse zones of range {rng.start}-{rng.end}"
    created: list[str] = []
    zone_ids: dict[str, int] = {}
    for name in names:
        zone = db.scalar(
            select(DnsZone).where(
                DnsZone.server_id == server.id, DnsZone.name == name, dns_service.shown_zones()
            )
        )
        if zone is None:
            view = dns_service.create_zone(db, config, actor, ZoneCreateRequest(
                server_id=server.id, name=name, comment=comment))  # fmt: skip
            created.append(name)
            zone_ids[name] = view.id
        else:
            zone_ids[name] = zone.id
    rtype = "A" if span.family == 4 else "AAAA"
    forward = db.execute(
        select(DnsRecord.name, DnsRecord.data)
        .join(DnsZone, DnsZone.id == DnsRecord.zone_id)
        .where(DnsZone.server_id == server.id, DnsRecord.type == rtype,
               dns_service.shown_records())
    ).all()  # fmt: skip
    wanted: dict[str, dict[str, set[str]]] = {name: {} for name in names}
    for owner, data in forward:
        try:
            value = int(ipaddress.ip_address(data))
        except ValueError:
            continue
        if not span.first <= value <= span.last:
            continue
        ptr = ad.reverse_name(span.family, value)
        holder = next(n for n in names if ptr.endswith("." + n))
        wanted[holder].setdefault(ptr, set()).add(owner)
    made = 0
    mismatched: list[dict[str, Any]] = []
    for name in names:
        if not wanted[name]:
            continue
        existing: dict[str, set[str]] = {}
        for owner, data in db.execute(select(DnsRecord.name, DnsRecord.data).where(
                DnsRecord.zone_id == zone_ids[name], DnsRecord.type == "PTR")):  # fmt: skip
            existing.setdefault(owner, set()).add(data.lower())
        changes = []
        for ptr, hosts in sorted(wanted[name].items()):
            have = existing.get(ptr, set())
            if have & {h.lower() for h in hosts}:
                continue
            if have:
                mismatched.append({"ptr": ptr, "names": sorted(have), "a_records": sorted(hosts)})
                continue
            record = {"name": ptr, "type": "PTR", "data": sorted(hosts)[0]}
            changes.append({"action": "create", "record": record})
        if changes:
            dns_service.apply_changes(db, config, actor, zone_ids[name],
                                      ChangeSet.model_validate({"changes": changes,
                                                                "comment": comment}))  # fmt: skip
            made += len(changes)
    return ReverseResult(server_id=server.id, zones=names, created_zones=created,
                         created_ptrs=made, mismatched=mismatched)  # fmt: skip
