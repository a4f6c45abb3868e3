"""The caching DNS server's settings: what an administrator sets on a caching appliance.

Unbound is configured from one ``CachingSettings`` document (``var/lib/burrow/unbound/
settings.json``, part of backups). burrow-launch renders ``unbound.conf`` from it at every
start and the dns-agent re-renders it on each change (``services.common.caching.conf``).
Every value is a typed address, network, domain name, number or keyword, and local data are
parsed as DNS records, so nothing a user types reaches unbound.conf as free text.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated, Literal

import dns.exception
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
from pydantic import (
    BaseModel,
    Field,
    PlainSerializer,
    PlainValidator,
    WithJsonSchema,
    model_validator,
)

from services.common.dns.options import Address, field_errors
from services.common.files import read_json, write_json
from services.common.model import Input

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

#: At most this many entries in each list, and local data records per zone.
MAX_SERVERS = 16
MAX_ZONES = 1000
MAX_RULES = 256
MAX_LOCAL_DATA = 10000


def _domain(value: object) -> str:
    """A domain name in its absolute, lower-case text form; ``.`` is the root."""
    if not isinstance(value, str):
        raise ValueError("give the name as a string")
    text = value.strip().lower()
    if not text:
        raise ValueError("a domain name cannot be empty")
    try:
        name = dns.name.from_text(text)
    except dns.exception.DNSException as exc:
        raise ValueError(f"{value!r} is not a domain name ({exc})") from None
    for label in name.labels[:-1]:
        if not all(chr(c).isalnum() or chr(c) in "-_" for c in label):
            raise ValueError(
                f"label {label.decode(errors='replace')!r} of {value!r} must be letters, "
                "digits, '-' or '_'"
            )
    return name.to_text()


def _network(value: object) -> IPNetwork:
    if isinstance(value, ipaddress.IPv4Network | ipaddress.IPv6Network):
        return value
    if not isinstance(value, str):
        raise ValueError("give the network as a string")
    try:
        return ipaddress.ip_network(value.strip(), strict=True)
    except ValueError:
        raise ValueError(
            f"{value!r} is not a network (an address or a prefix with no host bits set)"
        ) from None


Domain = Annotated[
    str,
    PlainValidator(_domain),
    WithJsonSchema({"type": "string", "description": "a domain name; '.' is the root"}),
]
Network = Annotated[
    IPNetwork,
    PlainValidator(_network),
    PlainSerializer(str),
    WithJsonSchema({"type": "string", "description": "an address or a prefix"}),
]


class Target(Input):
    """A DNS server that Unbound sends queries to."""

    address: Address
    port: int = Field(default=53, ge=1, le=65535)

    def text(self) -> str:
        return f"{self.address}@{self.port}" if self.port != 53 else str(self.address)


class ForwardZone(Input):
    """Queries for ``name`` and below go to ``servers`` (unbound.conf ``forward-zone``)."""

    name: Domain
    servers: list[Target] = Field(min_length=1, max_length=MAX_SERVERS)
    #: When the servers do not answer, resolve from the root instead (``forward-first``).
    first: bool = False


class StubZone(Input):
    """Queries for ``name`` and below are resolved starting at ``servers``, the zone's
    authoritative servers (unbound.conf ``stub-zone``)."""

    name: Domain
    servers: list[Target] = Field(min_length=1, max_length=MAX_SERVERS)


LocalZoneType = Literal[
    "static",
    "transparent",
    "typetransparent",
    "redirect",
    "refuse",
    "deny",
    "always_nxdomain",
    "always_refuse",
]


def _record(value: object) -> str:
    """One resource record in zone-file form, ``NAME [TTL] [IN] TYPE RDATA``, normalised."""
    if not isinstance(value, str):
        raise ValueError("give the record as a string")
    text = " ".join(value.split())
    if not text:
        raise ValueError("a record cannot be empty")
    if any(ch in value for ch in ('"\n', "\n", "\r")):
        raise ValueError("a record is one line")
    tokens = text.split(" ")
    if len(tokens) < 3:
        raise ValueError(f"{text!r} is not a record (NAME [TTL] [IN] TYPE DATA)")
    owner = _domain(tokens[0])
    rest = tokens[1:]
    ttl = 3600
    if rest and rest[0].isdigit():
        ttl = int(rest.pop(0))
        if ttl > 2**31 - 1:
            raise ValueError(f"TTL {ttl} of {text!r} is too large")
    if rest and rest[0].upper() == "IN":
        rest.pop(0)
    if len(rest) < 2:
        raise ValueError(f"{text!r} has no type and data")
    try:
        rdtype = dns.rdatatype.from_text(rest[0])
    except dns.exception.DNSException:
        raise ValueError(f"{rest[0]!r} in {text!r} is not a record type") from None
    try:
        rdata = dns.rdata.from_text(
            dns.rdataclass.IN, rdtype, " ".join(rest[1:]), origin=dns.name.root
        )
    except (dns.exception.DNSException, ValueError) as exc:
        raise ValueError(f"the data of {text!r} are not valid ({exc})") from None
    return f"{owner} {ttl} IN {dns.rdatatype.to_text(rdtype)} {rdata.to_text()}"


Record = Annotated[
    str,
    PlainValidator(_record),
    WithJsonSchema({"type": "string", "description": "NAME [TTL] [IN] TYPE DATA"}),
]


class LocalZone(Input):
    """A zone that Unbound answers itself (unbound.conf ``local-zone`` and ``local-data``)."""

    name: Domain
    #: ``static``: only ``records``, NXDOMAIN otherwise; ``transparent``: ``records``, other
    #: names resolved as usual; ``refuse``, ``deny``, ``always_nxdomain``: blocked names.
    type: LocalZoneType = "static"
    records: list[Record] = Field(default_factory=list, max_length=MAX_LOCAL_DATA)

    @model_validator(mode="after")
    def _records_inside(self) -> LocalZone:
        zone = dns.name.from_text(self.name)
        problems = [
            (f"records[{i}]", f"{record.split(' ')[0]} is not in the zone {self.name}")
            for i, record in enumerate(self.records)
            if not dns.name.from_text(record.split(" ")[0]).is_subdomain(zone)
        ]
        if problems:
            raise field_errors("LocalZone", problems)
        return self


AccessAction = Literal["allow", "refuse", "deny", "allow_snoop"]


class AccessRule(Input):
    """Who may query (unbound.conf ``access-control``); the most specific network wins."""

    network: Network
    action: AccessAction = "allow"


#: Who may query until an administrator says otherwise: the appliance itself and the private
#: networks (RFC 1918, RFC 4193 and link-local); everyone else is refused.
DEFAULT_ACCESS = (
    ("127.0.0.0/8", "allow"),
    ("::1/128", "allow"),
    ("10.0.0.0/8", "allow"),
    ("172.16.0.0/12", "allow"),
    ("192.168.0.0/16", "allow"),
    ("fc00::/7", "allow"),
    ("fe80::/10", "allow"),
)


def _default_access() -> list[AccessRule]:
    return [AccessRule.model_validate({"network": n, "action": a}) for n, a in DEFAULT_ACCESS]


class CachingSettings(Input):
    """Everything an administrator sets on the caching DNS server."""

    #: Where every query goes that no zone below names (the forward zone ``.``); empty:
    #: Unbound resolves from the root servers itself.
    forwarders: list[Target] = Field(default_factory=list, max_length=MAX_SERVERS)
    #: When the forwarders do not answer, resolve from the root instead.
    forward_first: bool = False
    forward_zones: list[ForwardZone] = Field(default_factory=list, max_length=MAX_ZONES)
    stub_zones: list[StubZone] = Field(default_factory=list, max_length=MAX_ZONES)
    local_zones: list[LocalZone] = Field(default_factory=list, max_length=MAX_ZONES)
    access: list[AccessRule] = Field(default_factory=_default_access, max_length=MAX_RULES)
    #: Validate DNSSEC with the root trust anchor (Debian's dns-root-data), kept up to date
    #: by Unbound (RFC 5011).
    dnssec_validation: bool = True
    #: Names whose answers are not validated (``domain-insecure``): private zones that the
    #: public DNS does not delegate, served by a forward or stub zone's servers.
    insecure_domains: list[Domain] = Field(default_factory=list, max_length=MAX_ZONES)
    msg_cache_mb: int = Field(default=32, ge=1, le=4096)
    rrset_cache_mb: int = Field(default=64, ge=1, le=8192)
    #: Refresh popular names before they expire.
    prefetch: bool = True
    cache_max_ttl: int = Field(default=86400, ge=60, le=604800)
    cache_min_ttl: int = Field(default=0, ge=0, le=3600)
    #: Answer from an expired cache entry when the upstream does not answer (RFC 8767).
    serve_expired: bool = False

    @model_validator(mode="after")
    def _coherent(self) -> CachingSettings:
        problems: list[tuple[str, str]] = []
        seen: dict[str, str] = {}
        for kind in ("forward_zones", "stub_zones"):
            for i, zone in enumerate(getattr(self, kind)):
                where = f"{kind}[{i}].name"
                if zone.name == "." and kind == "forward_zones":
                    problems.append((where, "the root is set by forwarders, not a forward zone"))
                elif zone.name in seen:
                    problems.append((where, f"{zone.name} is already {seen[zone.name]}"))
                seen.setdefault(zone.name, where.rsplit(".", 1)[0])
        local: set[str] = set()
        for i, zone in enumerate(self.local_zones):
            if zone.name in local:
                problems.append((f"local_zones[{i}].name", f"{zone.name} is listed twice"))
            local.add(zone.name)
        networks: set[str] = set()
        for i, rule in enumerate(self.access):
            if str(rule.network) in networks:
                problems.append((f"access[{i}].network", f"{rule.network} is listed twice"))
            networks.add(str(rule.network))
        if self.forward_first and not self.forwarders:
            problems.append(("forward_first", "needs forwarders"))
        if self.cache_min_ttl > self.cache_max_ttl:
            problems.append(("cache_min_ttl", "is more than cache_max_ttl"))
        if problems:
            raise field_errors("CachingSettings", problems)
        return self

    @classmethod
    def load(cls, path: Path) -> CachingSettings:
        """The stored settings, or the defaults when none are stored yet."""
        if not path.exists():
            return cls()
        return cls.model_validate(read_json(path))

    def save(self, path: Path) -> None:
        write_json(path, self.model_dump(mode="json"), mode=0o640)


# --- what the dns-agent of a caching appliance answers ----------------------------------------
class CacheFlush(Input):
    """Remove ``name`` from the cache, or every name at and below it (``zone``)."""

    name: Domain
    zone: bool = False


class CacheFlushed(BaseModel):
    name: str
    zone: bool
    #: unbound-control's own words, e.g. "ok removed 3 rrsets, 2 messages and 0 key entries".
    detail: str


class CacheStats(BaseModel):
    """Unbound's counters since its start (``unbound-control stats_noreset``)."""

    queries: int
    cache_hits: int
    cache_misses: int
    prefetches: int
    recursive_replies: int
    #: Answers by rcode: NOERROR, NXDOMAIN, SERVFAIL, REFUSED...
    rcodes: dict[str, int]
    requestlist_avg: float
    recursion_time_avg: float
    uptime_seconds: float
    msg_cache_count: int
    rrset_cache_count: int
    #: Every counter as unbound-control prints it, for whoever needs more.
    raw: dict[str, float]
