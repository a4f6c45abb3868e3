"""Who uses the addresses of a range: claims, DNS records Central knows, DHCP reservations and
leases; the next free address; the address view with disagreements; utilisation.

Sources, and where they are read:

- claims: ``ipam_claims``;
- A/AAAA and PTR records: Central's copy of every managed zone (``dns_records``);
- DHCP reservations: Central's snapshot of each Kea daemon (scopes whose subnet overlaps the
  range, and global reservations);
- leases: read live from the dhcp-agent of each server with such a scope, in address order
  from the range's first address (``lease4-get-page``/``lease6-get-page``). An agent that
  cannot be read is named in ``warnings``; its leases are then not counted.

Next free address walks the range in windows: claims of a window are counted first (a full
window is skipped with one indexed count), then read; the other sources are read once per
request.
"""

from __future__ import annotations

import logging
import socket
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from central.core.config import CentralConfig
from central.core.deps import Principal
from central.dhcp import service as dhcp
from central.dhcp.models import DhcpSnapshot
from central.dhcp.service import Family
from central.dns.models import DnsRecord, DnsZone
from central.ipam import addresses as ad
from central.ipam.addresses import Span
from central.ipam.models import IpamClaim, IpamRange
from central.ipam.schemas import Source
from central.ipam.service import range_span, try_claim
from central.registry.models import Server
from services.common.dhcp.contract import normal_id
from services.common.errors import BurrowError

log = logging.getLogger(__name__)

#: Addresses looked at per step of next-free (claims read per window).
WINDOW = 4096
#: Attempts of a claiming next-free before it gives up (each loses to a concurrent caller).
CLAIM_ATTEMPTS = 200
#: Leases read per call to the dhcp-agent.
LEASE_PAGE = 1000


def _parser(family: int) -> Any:
    kind = socket.AF_INET if family == 4 else socket.AF_INET6

    def parse(text: str) -> int | None:
        try:
            return int.from_bytes(socket.inet_pton(kind, text.strip()), "big")
        except (OSError, ValueError):
            return None

    return parse


@dataclass
class Usage:
    """The sources of the used addresses of a span, by address integer."""

    span: Span
    sources: dict[int, list[Source]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def add(self, value: int, source: Source) -> None:
        if self.span.holds(value):
            self.sources.setdefault(value, []).append(source)


# --- sources -----------------------------------------------------------------------------------
def _dns(db: Session, usage: Usage) -> None:
    span = usage.span
    rtype = "A" if span.family == 4 else "AAAA"
    parse = _parser(span.family)
    query = (
        select(DnsRecord.name, DnsRecord.data, DnsRecord.zone_id, DnsZone.server_id)
        .join(DnsZone, DnsZone.id == DnsRecord.zone_id)
        .where(DnsRecord.type == rtype)
    )
    prefix = ad.text_prefix(span)
    if prefix:  # "10.1." <= data < "10.1/" ('/' follows '.'): an index range, not a LIKE
        query = query.where(DnsRecord.data >= prefix, DnsRecord.data < prefix[:-1] + "/")
    kind: Literal["a", "aaaa"] = "a" if rtype == "A" else "aaaa"
    for name, data, zone_id, server_id in db.execute(query):
        value = parse(data)
        if value is not None:
            usage.add(value, Source(kind=kind, name=name, zone_id=zone_id, server_id=server_id))
    suffix = ad.reverse_suffix(span)
    ptrs = (
        select(DnsRecord.name, DnsRecord.data, DnsRecord.zone_id, DnsZone.server_id)
        .join(DnsZone, DnsZone.id == DnsRecord.zone_id)
        .where(DnsRecord.type == "PTR", DnsRecord.name.endswith("." + suffix, autoescape=True))
    )
    for name, data, zone_id, server_id in db.execute(ptrs):
        found = ad.from_reverse_name(name)
        if found is not None and found[0] == span.family:
            usage.add(found[1], Source(kind="ptr", name=name, data=data, zone_id=zone_id,
                                       server_id=server_id))  # fmt: skip


def _overlapping_scopes(view: Any, span: Span) -> list[dict[str, Any]]:
    found = []
    for scope in view["scopes"]:
        try:
            subnet = ad.parse_prefix(str(scope["subnet"]), "subnet")
        except BurrowError:
            continue
        if subnet.overlaps(span):
            found.append(scope)
    return found


def _reservation_source(entry: dict[str, Any], server_id: int, scope_id: int | None) -> Source:
    return Source(
        kind="reservation", name=entry.get("hostname"), server_id=server_id, scope_id=scope_id,
        hw_address=entry.get("hw_address"), client_id=entry.get("client_id"),
        duid=entry.get("duid"),
    )  # fmt: skip


def _dhcp(db: Session, config: CentralConfig | None, usage: Usage, *, leases: bool) -> None:
    span = usage.span
    family = "v4" if span.family == 4 else "v6"
    parse = _parser(span.family)
    rows = db.scalars(select(DhcpSnapshot).where(DhcpSnapshot.family == family))
    for row in list(rows):
        view = dhcp.row_view(row)
        scopes = _overlapping_scopes(view, span)
        for scope in scopes:
            for entry in scope.get("reservations") or []:
                for address in entry.get("ip_addresses") or []:
                    value = parse(str(address))
                    if value is not None:
                        usage.add(value, _reservation_source(entry, row.server_id, scope["id"]))
        for entry in view["reservations"]:
            for address in entry.get("ip_addresses") or []:
                value = parse(str(address))
                if value is not None:
                    usage.add(value, _reservation_source(entry, row.server_id, None))
        if leases and scopes and config is not None:
            _leases(db, config, usage, row.server_id)


def _leases(db: Session, config: CentralConfig, usage: Usage, server_id: int) -> None:
    span = usage.span
    family: Family = "v4" if span.family == 4 else "v6"
    parse = _parser(span.family)
    server = db.get(Server, server_id)
    if server is None or server.state == "revoked" or not server.fingerprint:
        return
    start = ad.text(span.family, span.first - 1) if span.first > 0 else None
    try:
        agent = dhcp.agent_for(config, server)
        while True:
            page = agent.leases(family, start, LEASE_PAGE)
            value = None
            for lease in page.leases:
                value = parse(lease.address)
                if value is None or lease.type == "IA_PD":
                    continue
                usage.add(value, Source(
                    kind="lease", name=lease.hostname, server_id=server_id,
                    scope_id=lease.subnet_id, hw_address=lease.hw_address,
                    client_id=lease.client_id, duid=lease.duid, expires=lease.expires,
                ))  # fmt: skip
            if page.next is None or value is None or value >= span.last:
                return
            start = page.next
    except BurrowError as exc:
        log.warning("leases of DHCP server %s not read: %s", server_id, exc)
        usage.warnings.append(f"leases of DHCP server {server_id} ({server.name}) not read: "
                              f"{exc.message}")  # fmt: skip


def _claims(db: Session, rng: IpamRange, usage: Usage) -> None:
    for claim in db.scalars(select(IpamClaim).where(IpamClaim.range_id == rng.id)):
        usage.add(ad.from_key(claim.key),
                  Source(kind="claim", owner=claim.owner or claim.claimed_by))  # fmt: skip


def gather(
    db: Session, config: CentralConfig | None, rng: IpamRange, *, claims: bool = True,
    leases: bool = True,
) -> Usage:  # fmt: skip
    """Every source of every used address of ``rng``."""
    usage = Usage(range_span(rng))
    if claims:
        _claims(db, rng, usage)
    _dns(db, usage)
    _dhcp(db, config, usage, leases=leases)
    return usage


# --- next free ---------------------------------------------------------------------------------
def _claimed_in(db: Session, range_id: int, first: int, last: int) -> set[int] | None:
    """Claimed addresses of ``first``-``last`` (None: every one of them is claimed)."""
    where = (IpamClaim.range_id == range_id, IpamClaim.key >= ad.key(first),
             IpamClaim.key <= ad.key(last))  # fmt: skip
    count = db.scalar(select(func.count()).select_from(IpamClaim).where(*where)) or 0
    if count >= last - first + 1:
        return None
    return {ad.from_key(k) for k in db.scalars(select(IpamClaim.key).where(*where))}


def first_free(
    db: Session, range_id: int, span: Span, others: set[int], start: int | None = None
) -> int | None:
    """The lowest address of ``span`` from ``start`` that no claim and none of ``others``
    uses."""
    candidate = span.first if start is None else max(start, span.first)
    while candidate <= span.last:
        last = min(candidate + WINDOW - 1, span.last)
        claimed = _claimed_in(db, range_id, candidate, last)
        if claimed is not None:
            for value in range(candidate, last + 1):
                if value not in claimed and value not in others:
                    return value
        candidate = last + 1
    return None


def next_free(
    db: Session, config: CentralConfig, rng: IpamRange, start: int | None = None
) -> tuple[int | None, list[str]]:
    """The lowest free address of ``rng`` (from ``start``) and the sources not read."""
    usage = gather(db, config, rng, claims=False)
    found = first_free(db, rng.id, usage.span, set(usage.sources), start)
    return found, usage.warnings


def claim_next_free(
    db: Session, config: CentralConfig, user: Principal, rng: IpamRange, owner: str,
    comment: str, start: int | None = None,
) -> tuple[IpamClaim | None, list[str]]:  # fmt: skip
    """Claim the lowest free address of ``rng``: of concurrent callers each gets another one.

    The insert of the claim is what decides (the unique (range, key) pair): a caller that
    loses the race to an address moves on past it and tries the next free one.
    """
    usage = gather(db, config, rng, claims=False)
    others = set(usage.sources)
    range_id, span = rng.id, usage.span
    candidate = start
    for _attempt in range(CLAIM_ATTEMPTS):
        found = first_free(db, range_id, span, others, candidate)
        if found is None:
            return None, usage.warnings
        made = try_claim(db, user, range_id, span.family, found, owner, comment)
        if made is not None:
            return made, usage.warnings
        log.debug("%s of range %s was claimed meanwhile: trying the next", found, range_id)
        candidate = found + 1
    raise BurrowError(f"No address could be claimed in range {range_id} after "
                      f"{CLAIM_ATTEMPTS} attempts: too many callers at once.")  # fmt: skip


# --- the address view and utilisation ------------------------------------------------------------
def _names(sources: list[Source], kinds: tuple[str, ...], attr: str) -> set[str]:
    out = set()
    for source in sources:
        value = getattr(source, attr)
        if source.kind in kinds and value:
            out.add(value.lower().rstrip("."))
    return out


def _identifiers(source: Source) -> set[str]:
    return {normal_id(v).lower() for v in (source.hw_address, source.client_id, source.duid) if v}


def disagreements(sources: list[Source]) -> list[str]:
    """Where the sources of one address disagree."""
    kinds = {s.kind for s in sources}
    problems = []
    forward = kinds & {"a", "aaaa"}
    if forward and "ptr" not in kinds:
        problems.append("a-without-ptr")
    if "ptr" in kinds and not forward:
        problems.append("ptr-without-a")
    if forward and "ptr" in kinds:
        names = _names(sources, ("a", "aaaa"), "name")
        targets = _names(sources, ("ptr",), "data")
        if not names & targets:
            problems.append("ptr-mismatch")
    if "lease" in kinds and "reservation" in kinds:
        reserved: set[str] = set()
        for source in sources:
            if source.kind == "reservation":
                reserved |= _identifiers(source)
        for source in sources:
            if source.kind == "lease" and not (_identifiers(source) & reserved):
                problems.append("lease-on-reserved")
                break
    return problems


def addresses(
    db: Session, config: CentralConfig, rng: IpamRange, offset: int, limit: int,
    *, only_problems: bool = False,
) -> tuple[list[tuple[str, list[Source], list[str]]], int, list[str]]:  # fmt: skip
    """One page of the used addresses of ``rng`` in order with their sources and
    disagreements, how many there are in all, and the sources not read."""
    usage = gather(db, config, rng)
    family = usage.span.family
    ordered = sorted(usage.sources)
    if only_problems:
        found = [(v, p) for v in ordered if (p := disagreements(usage.sources[v]))]
        page = found[offset : offset + limit]
        total = len(found)
    else:
        page = [(v, disagreements(usage.sources[v])) for v in ordered[offset : offset + limit]]
        total = len(ordered)
    items = [(ad.text(family, v), usage.sources[v], p) for v, p in page]
    return items, total, usage.warnings


def utilisation(db: Session, config: CentralConfig, rng: IpamRange) -> dict[str, Any]:
    usage = gather(db, config, rng)
    size = usage.span.size
    used = len(usage.sources)
    by_source: dict[str, int] = {}
    for sources in usage.sources.values():
        for kind in {s.kind for s in sources}:
            by_source[kind] = by_source.get(kind, 0) + 1
    return {
        "range_id": rng.id, "size": size, "used": used, "free": size - used,
        "percent": round(100.0 * used / size, 2), "by_source": by_source,
        "warnings": usage.warnings,
    }  # fmt: skip
