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

Next free address reads the sources other than claims once per request, from indexes alone
where it can (A/AAAA data, PTR names), then walks the range in windows of ``WINDOW``
addresses: a window where every address is used is passed over by counting its claims in
the index; only the first window with a free address has its claims read.
"""

from __future__ import annotations

import bisect
import logging
import socket
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Literal

from sqlalchemy import bindparam, case, func, select
from sqlalchemy.orm import Session

from central.core.config import CentralConfig
from central.core.deps import Principal
from central.dhcp import service as dhcp
from central.dhcp.models import DhcpSnapshot
from central.dhcp.service import Family
from central.dns.models import DnsRecord, DnsZone
from central.ipam import addresses as ad
from central.ipam.addresses import Span
from central.ipam.models import IpamClaim, IpamRange, IpamSeen
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


def _no_source() -> Source:
    raise AssertionError("no source is made without detail")


_NO_SOURCE = _no_source


@dataclass
class Usage:
    """The used addresses of a span and, with ``detail``, their sources by address integer.

    Without ``detail`` (next free, utilisation) no source is made at all: making 50,000 of
    them would cost more than the rest of the request. ``kinds`` (when not None) gathers the
    used addresses by the kind of source (utilisation's ``by_source``).
    """

    span: Span
    detail: bool = True
    used: set[int] = field(default_factory=set)
    sources: dict[int, list[Source]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    kinds: dict[str, set[int]] | None = None

    def add(self, value: int, source: Callable[[], Source], kind: str = "") -> None:
        if self.span.first <= value <= self.span.last:
            self.used.add(value)
            if self.detail:
                self.sources.setdefault(value, []).append(source())
            if self.kinds is not None:
                self.kinds.setdefault(kind, set()).add(value)


# --- sources -----------------------------------------------------------------------------------
def _dns(db: Session, usage: Usage) -> None:
    span = usage.span
    rtype = "A" if span.family == 4 else "AAAA"
    parse = _parser(span.family)
    records = DnsRecord.__table__.c
    zones = DnsZone.__table__.c
    # a zone still being imported is found by nothing until its import is done
    visible = records.zone_id.not_in(select(zones.id).where(zones.importing))
    where = [records.type == rtype, visible]
    prefix = ad.text_prefix(span)
    if prefix:  # "10.1." <= data < "10.1/" ('/' follows '.'): an index range, not a LIKE
        where += [records.data >= prefix, records.data < prefix[:-1] + "/"]
    suffix = ad.reverse_suffix(span)
    ptr_where = [records.type == "PTR", records.name.endswith("." + suffix, autoescape=True),
                 visible]  # fmt: skip
    connection = db.connection()
    if not usage.detail:
        # only the addresses: both queries are answered from an index alone
        # fetched at once: row by row costs more than the query
        datas = connection.execute(select(records.data).where(*where)).scalars().all()
        span_first, span_last, used = span.first, span.last, usage.used
        forward = set() if usage.kinds is not None else used
        for data in datas:
            value = parse(data)
            if value is not None and span_first <= value <= span_last:
                forward.add(value)
        if usage.kinds is not None and forward:
            used |= forward
            usage.kinds.setdefault(rtype.lower(), set()).update(forward)
        for name in connection.execute(select(records.name).where(*ptr_where)).scalars().all():
            found = ad.from_reverse_name(name)
            if found is not None and found[0] == span.family:
                usage.add(found[1], _NO_SOURCE, "ptr")
        return
    columns = (records.name, records.data, records.zone_id, zones.server_id)
    joined = select(*columns).join_from(DnsRecord.__table__, DnsZone.__table__,
                                        zones.id == records.zone_id)  # fmt: skip
    kind: Literal["a", "aaaa"] = "a" if rtype == "A" else "aaaa"
    for name, data, zone_id, server_id in connection.execute(joined.where(*where)):
        value = parse(data)
        if value is not None:
            usage.add(value, partial(Source, kind=kind, name=name, zone_id=zone_id,
                                     server_id=server_id), kind)  # fmt: skip
    for name, data, zone_id, server_id in connection.execute(joined.where(*ptr_where)):
        found = ad.from_reverse_name(name)
        if found is not None and found[0] == span.family:
            usage.add(found[1], partial(Source, kind="ptr", name=name, data=data,
                                        zone_id=zone_id, server_id=server_id), "ptr")  # fmt: skip


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


def _dhcp(
    db: Session, config: CentralConfig | None, usage: Usage, *, leases: bool,
    reservations: bool = True,
) -> None:  # fmt: skip
    span = usage.span
    family = "v4" if span.family == 4 else "v6"
    parse = _parser(span.family)
    rows = db.scalars(select(DhcpSnapshot).where(DhcpSnapshot.family == family))
    for row in list(rows):
        view = dhcp.row_view(row)
        scopes = _overlapping_scopes(view, span)
        if leases and scopes and config is not None:
            _leases(db, config, usage, row.server_id)
        if not reservations:
            continue
        for scope in scopes:
            for entry in scope.get("reservations") or []:
                for address in entry.get("ip_addresses") or []:
                    value = parse(str(address))
                    if value is not None:
                        usage.add(value, partial(_reservation_source, entry, row.server_id,
                                                 scope["id"]), "reservation")  # fmt: skip
        for entry in view["reservations"]:
            for address in entry.get("ip_addresses") or []:
                value = parse(str(address))
                if value is not None:
                    usage.add(
                        value,
                        partial(_reservation_source, entry, row.server_id, None),
                        "reservation",
                    )


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
                usage.add(value, partial(
                    Source, kind="lease", name=lease.hostname, server_id=server_id,
                    scope_id=lease.subnet_id, hw_address=lease.hw_address,
                    client_id=lease.client_id, duid=lease.duid, expires=lease.expires,
                ), "lease")  # fmt: skip
            if page.next is None or value is None or value >= span.last:
                return
            start = page.next
    except BurrowError as exc:
        log.warning("leases of DHCP server %s not read: %s", server_id, exc)
        usage.warnings.append(f"leases of DHCP server {server_id} ({server.name}) not read: "
                              f"{exc.message}")  # fmt: skip


def _seen(db: Session, usage: Usage) -> None:
    """What discovery found in use (``central.ipam.discovery``)."""
    span = usage.span
    seen = IpamSeen.__table__.c
    where = [seen.family == span.family, seen.key >= ad.key(span.first),
             seen.key <= ad.key(span.last)]  # fmt: skip
    connection = db.connection()
    if not usage.detail:
        for key in connection.execute(select(seen.key).where(*where)).scalars().all():
            usage.add(ad.from_key(key), _NO_SOURCE, "discovered")
        return
    rows = connection.execute(
        select(seen.key, seen.mac, seen.seen_by, seen.last_seen).where(*where)
    )
    for key, mac, seen_by, last_seen in rows:
        usage.add(ad.from_key(key), partial(Source, kind="discovered", hw_address=mac or None,
                                            seen_by=seen_by, last_seen=last_seen),
                  "discovered")  # fmt: skip


def _claims(db: Session, rng: IpamRange, usage: Usage) -> None:
    span = usage.span
    query = select(IpamClaim).where(IpamClaim.range_id == rng.id)
    if span != range_span(rng):  # a stretch of the range: an indexed read of its claims only
        query = query.where(IpamClaim.key >= ad.key(span.first),
                            IpamClaim.key <= ad.key(span.last))  # fmt: skip
    if not usage.detail:  # the keys alone, no objects
        keys = db.connection().execute(query.with_only_columns(IpamClaim.key)).scalars().all()
        for key in keys:
            usage.add(int(key, 16), _NO_SOURCE, "claim")
        return
    for claim in db.scalars(query):
        usage.add(ad.from_key(claim.key),
                  partial(Source, kind="claim", owner=claim.owner or claim.claimed_by),
                  "claim")  # fmt: skip


def gather(
    db: Session, config: CentralConfig | None, rng: IpamRange, *, claims: bool = True,
    leases: bool = True, detail: bool = True, within: Span | None = None,
    by_kind: bool = False,
) -> Usage:  # fmt: skip
    """Every used address of ``rng`` (with ``detail``, every source of each; with
    ``by_kind``, the addresses of each kind of source); with ``within``, of that stretch of
    the range only (each source read for it alone)."""
    usage = Usage(within or range_span(rng), detail=detail, kinds={} if by_kind else None)
    if claims:
        _claims(db, rng, usage)
    _dns(db, usage)
    _seen(db, usage)
    _dhcp(db, config, usage, leases=leases)
    return usage


# --- next free ---------------------------------------------------------------------------------
_CLAIMS = IpamClaim.__table__.c
_CLAIMED_IN = select(_CLAIMS.key).where(
    _CLAIMS.range_id == bindparam("range_id"),
    _CLAIMS.key >= bindparam("first"),
    _CLAIMS.key <= bindparam("last"),
)


def _claimed_in(db: Session, range_id: int, first: int, last: int) -> set[int]:
    """Claimed addresses of ``first``-``last`` (one indexed range read, no ORM objects)."""
    keys = db.connection().execute(
        _CLAIMED_IN, {"range_id": range_id, "first": ad.key(first), "last": ad.key(last)}
    )
    return {int(k, 16) for k in keys.scalars().all()}


_WINDOW_WHERE = (
    _CLAIMS.range_id == bindparam("range_id"),
    _CLAIMS.key >= bindparam("first"),
    _CLAIMS.key <= bindparam("last"),
)
_COUNT_IN = select(func.count()).select_from(IpamClaim.__table__).where(*_WINDOW_WHERE)


def _window_full(db: Session, range_id: int, first: int, last: int, known: Known) -> bool:
    """Whether every address of ``first``-``last`` is used, counted without reading a claim:
    the claims in it, plus the other sources' addresses in it, less those both count."""
    ordered = known.ordered
    within = ordered[bisect.bisect_left(ordered, first) : bisect.bisect_right(ordered, last)]
    bounds = {"range_id": range_id, "first": ad.key(first), "last": ad.key(last)}
    connection = db.connection()
    claimed = int(connection.execute(_COUNT_IN, bounds).scalar_one())
    if claimed + len(within) < last - first + 1:
        return False
    both = 0
    if known.both is not None:
        both = bisect.bisect_right(known.both, last) - bisect.bisect_left(known.both, first)
    elif within:
        both = _claimed_among(db, range_id, within)
    return claimed + len(within) - both >= last - first + 1


def _claimed_among(db: Session, range_id: int, values: list[int]) -> int:
    """How many of ``values`` are claimed in the range."""
    connection = db.connection()
    # Written in the driver's own terms: SQLAlchemy would compile the statement again for
    # every length of the list, which costs more than running it.
    mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    found = 0
    for start in range(0, len(values), 5000):
        chunk = values[start : start + 5000]
        # only placeholders are put into the text; every value is a parameter
        sql = (f"SELECT count(*) FROM ipam_claims WHERE range_id = {mark} AND key IN "  # noqa: S608
               f"({', '.join([mark] * len(chunk))})")  # fmt: skip
        keys = tuple(ad.key(v) for v in chunk)
        found += int(connection.exec_driver_sql(sql, (range_id, *keys)).scalar_one())
    return found


def _claimed_values_among(db: Session, range_id: int, values: list[int]) -> list[int]:
    """Which of ``values`` are claimed in the range (sorted)."""
    connection = db.connection()
    mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    found: list[int] = []
    for start in range(0, len(values), 5000):
        chunk = values[start : start + 5000]
        sql = (f"SELECT key FROM ipam_claims WHERE range_id = {mark} AND key IN "  # noqa: S608
               f"({', '.join([mark] * len(chunk))})")  # fmt: skip
        keys = tuple(ad.key(v) for v in chunk)
        found += [int(k, 16) for (k,) in connection.exec_driver_sql(sql, (range_id, *keys))]
    return sorted(found)


def first_free(
    db: Session, range_id: int, span: Span, known: Known, start: int | None = None
) -> int | None:
    """The lowest address of ``span`` from ``start`` that no claim and none of the other
    sources uses. The search starts at the range's floor when it can (``_FLOORS``); a window
    whose addresses are all used is passed over by counting (see ``_window_full``); only the
    first window with a free address is read."""
    candidate = span.first if start is None else max(start, span.first)
    floor = _floor(known)
    from_floor = candidate <= max(floor, span.first)  # everything below candidate is used
    candidate = max(candidate, floor)
    found: int | None = None
    while candidate <= span.last and found is None:
        last = min(candidate + WINDOW - 1, span.last)
        if not _window_full(db, range_id, candidate, last, known):
            claimed = _claimed_in(db, range_id, candidate, last)
            found = next((v for v in range(candidate, last + 1)
                          if v not in claimed and v not in known.others), None)  # fmt: skip
        candidate = last + 1
    if from_floor:
        _raise_floor(known, span.last + 1 if found is None else found)
    return found


# --- what next free knows between requests --------------------------------------------------
@dataclass(frozen=True)
class Known:
    """The addresses of a range that sources other than claims use (``others``, and sorted),
    and, when known, which of them are claimed too (``both``, sorted)."""

    others: set[int] | frozenset[int]
    ordered: list[int]
    both: list[int] | None = None
    #: Names the range's floor (``_FLOORS``) and what it holds for: the range's cache key,
    #: the sources' fingerprint and the range's releases. None: no floor (leases are counted,
    #: and a lease that ends frees an address below it).
    floor_key: tuple[Any, ...] | None = None


@dataclass(frozen=True)
class _Static:
    """The addresses DNS records and reservations use in a range, as of ``fingerprint``, and
    which of them were claimed as of (``releases``, ``last_claim``).

    A claim that commits after a later one (PostgreSQL hands out ids before commit) can be
    missed in ``both``; a window may then be taken for full while it has a free address, and
    next free answers a higher address. It never answers a used one: the window it answers
    from is always read whole."""

    fingerprint: tuple[Any, ...]
    used: frozenset[int]
    ordered: list[int]
    both: list[int]
    releases: int
    last_claim: int


#: Kept per range between requests: reading and parsing every A record of a /16 at each
#: request costs more than the rest of it. Checked at each request against a fingerprint of
#: the DNS and DHCP tables (records are never changed in place: a change deletes and inserts
#: rows with new ids and stamps its zone's ``updated_at``; a DHCP snapshot changes its hash).
_STATIC: OrderedDict[tuple[int, int, int], _Static] = OrderedDict()
_STATIC_KEPT = 64
_STATIC_LOCK = threading.Lock()


def _fingerprint(db: Session, range_id: int) -> tuple[tuple[Any, ...], int, int]:
    """The fingerprint of the DNS, DHCP and discovery tables, and the range's releases so far
    and its newest claim's id (from indexes): two statements, each a round trip of its own
    (on PostgreSQL a round trip is a wait for another process, long on a busy machine)."""
    zones = DnsZone.__table__.c
    records = DnsRecord.__table__.c
    seen = IpamSeen.__table__.c
    ranges = IpamRange.__table__.c
    connection = db.connection()
    importing = func.sum(case((zones.importing, 1), else_=0))
    one = connection.execute(select(
        select(func.count()).select_from(DnsZone.__table__).scalar_subquery(),
        select(func.max(zones.updated_at)).scalar_subquery(),
        select(importing).scalar_subquery(),
        select(func.max(records.id)).scalar_subquery(),
        select(func.count()).select_from(IpamSeen.__table__).scalar_subquery(),
        select(func.max(seen.id)).scalar_subquery(),
        select(ranges.releases).where(ranges.id == range_id).scalar_subquery(),
        select(func.max(_CLAIMS.id)).where(_CLAIMS.range_id == range_id).scalar_subquery(),
    )).one()  # fmt: skip
    snapshots = DhcpSnapshot.__table__.c
    dhcp_hashes = connection.execute(
        select(snapshots.server_id, snapshots.family, snapshots.hash).order_by(snapshots.id)
    ).all()
    zone_count, zone_changed, zone_importing, last_record, seen_count, seen_last = one[:6]
    fingerprint = ((zone_count, zone_changed, zone_importing), last_record,
                   tuple(tuple(r) for r in dhcp_hashes), (seen_count, seen_last))  # fmt: skip
    return fingerprint, int(one[6] or 0), int(one[7] or 0)


def _static(db: Session, config: CentralConfig | None, rng: IpamRange) -> _Static:
    """The DNS and reservation addresses of ``rng`` with those claimed among them, from the
    cache when nothing changed (new claims since are added; a release recounts)."""
    key = (rng.id, ad.from_key(rng.first_key), ad.from_key(rng.last_key))
    fingerprint, releases, last_claim = _fingerprint(db, rng.id)
    with _STATIC_LOCK:
        known = _STATIC.get(key)
    if known is None or known.fingerprint != fingerprint:
        usage = gather(db, config, rng, claims=False, leases=False, detail=False)
        ordered = sorted(usage.used)
        both = _claimed_values_among(db, rng.id, ordered) if last_claim else []
        known = _Static(fingerprint, frozenset(usage.used), ordered, both, releases, last_claim)
    elif (releases, last_claim) != (known.releases, known.last_claim):
        if releases == known.releases:  # only claims made since: add those DNS or DHCP use
            new = db.connection().execute(
                select(_CLAIMS.key).where(_CLAIMS.range_id == rng.id,
                                          _CLAIMS.id > known.last_claim)
            ).scalars().all()  # fmt: skip
            added = [v for v in (int(k, 16) for k in new) if v in known.used]
            both = sorted([*known.both, *added]) if added else known.both
        else:  # a claim was released: count again
            both = _claimed_values_among(db, rng.id, known.ordered)
        known = _Static(fingerprint, known.used, known.ordered, both, releases, last_claim)
    with _STATIC_LOCK:
        _STATIC[key] = known
        _STATIC.move_to_end(key)
        while len(_STATIC) > _STATIC_KEPT:
            _STATIC.popitem(last=False)
    return known


#: Per range, an address below which every address was found used (the range's floor), with
#: the fingerprint and the releases it holds for. While neither changes, addresses are only
#: ever added to the sources (claims are made, none released; DNS and reservations the same),
#: so what was used stays used and next free starts there instead of counting its way up
#: through every window below. A range whose addresses are handed out in order is then one
#: window's read per request, however much of it is used.
_FLOORS: OrderedDict[tuple[int, int, int], tuple[tuple[Any, ...], int]] = OrderedDict()


def _floor(known: Known) -> int:
    if known.floor_key is None:
        return 0
    range_key, stamp = known.floor_key[0], known.floor_key[1:]
    with _STATIC_LOCK:
        held = _FLOORS.get(range_key)
    return held[1] if held is not None and held[0] == stamp else 0


def _raise_floor(known: Known, value: int) -> None:
    if known.floor_key is None:
        return
    range_key, stamp = known.floor_key[0], known.floor_key[1:]
    with _STATIC_LOCK:
        held = _FLOORS.get(range_key)
        if held is None or held[0] != stamp or held[1] < value:
            _FLOORS[range_key] = (stamp, value)
        _FLOORS.move_to_end(range_key)
        while len(_FLOORS) > _STATIC_KEPT:
            _FLOORS.popitem(last=False)


def known_others(db: Session, config: CentralConfig, rng: IpamRange) -> tuple[Known, list[str]]:
    """What next free needs to know besides claims, and the sources not read. Leases are
    read live at every request; when a range has any, which of them are claimed is counted
    per window instead."""
    static = _static(db, config, rng)
    leases = Usage(range_span(rng), detail=False)
    _dhcp(db, config, leases, leases=True, reservations=False)
    if not leases.used - static.used:
        key = (rng.id, ad.from_key(rng.first_key), ad.from_key(rng.last_key))
        floor_key = (key, static.fingerprint, static.releases)
        return Known(static.used, static.ordered, static.both, floor_key), leases.warnings
    others = static.used | leases.used
    return Known(others, sorted(others)), leases.warnings


def next_free(
    db: Session, config: CentralConfig, rng: IpamRange, start: int | None = None,
    alive: Callable[[int], bool] | None = None,
) -> tuple[int | None, list[str]]:  # fmt: skip
    """The lowest free address of ``rng`` (from ``start``) and the sources not read; with
    ``alive``, the lowest for which ``alive`` is false too (the ping check)."""
    known, warnings = known_others(db, config, rng)
    span, candidate = range_span(rng), start
    while True:
        found = first_free(db, rng.id, span, known, candidate)
        if found is None or alive is None or not alive(found):
            return found, warnings
        candidate = found + 1


def claim_next_free(
    db: Session, config: CentralConfig, user: Principal, rng: IpamRange, owner: str,
    comment: str, start: int | None = None, alive: Callable[[int], bool] | None = None,
) -> tuple[IpamClaim | None, list[str]]:  # fmt: skip
    """Claim the lowest free address of ``rng``: of concurrent callers each gets another one.

    The insert of the claim is what decides (the unique (range, key) pair): a caller that
    loses the race to an address moves on past it and tries the next free one. With
    ``alive`` (the ping check), a candidate for which it is true is passed over unclaimed.
    """
    known, warnings = known_others(db, config, rng)
    range_id, span = rng.id, range_span(rng)
    candidate = start
    for _attempt in range(CLAIM_ATTEMPTS):
        found = first_free(db, range_id, span, known, candidate)
        if found is None:
            return None, warnings
        if alive is not None and alive(found):
            candidate = found + 1
            continue
        made = try_claim(db, user, range_id, span.family, found, owner, comment)
        if made is not None:
            return made, warnings
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
    if kinds == {"discovered"}:
        problems.append("discovered-unknown")
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
    *, only_problems: bool = False, within: Span | None = None,
) -> tuple[list[tuple[str, list[Source], list[str]]], int, list[str]]:  # fmt: skip
    """One page of the used addresses of ``rng`` (or of its stretch ``within``) in order with
    their sources and disagreements, how many there are in all, and the sources not read."""
    usage = gather(db, config, rng, within=within)
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
    """How much of ``rng`` is used, by kind of source: counted from the addresses alone, no
    source made (the console's tree asks it of every range at each view)."""
    usage = gather(db, config, rng, detail=False, by_kind=True)
    size = usage.span.size
    used = len(usage.used)
    by_source = {kind: len(found) for kind, found in sorted((usage.kinds or {}).items())}
    return {
        "range_id": rng.id, "size": size, "used": used, "free": size - used,
        "percent": round(100.0 * used / size, 2), "by_source": by_source,
        "warnings": usage.warnings,
    }  # fmt: skip
