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
#: At most this many local data records in all (each is parsed and checked: about 0.2 ms).
MAX_LOCAL_DATA_TOTAL = 100_000


def domain_name(value: object) -> str:
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
    PlainValidator(domain_name),
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

    @model_validator(mode="after")
    def _reachable(self) -> Target:
        if self.address.is_unspecified or self.address.is_multicast:
            raise field_errors("Target", [("address", f"{self.address} is not a server's address")])
        return self


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
    """One resource record in zone-file form, ``NAME [TTL] [IN] TYPE RDATA``, in its normal
    form: an absolute lower-case owner, the TTL (3600 unless given), ``IN``, the type and the
    data as dnspython writes them (quoted strings keep their spaces; any octet that is not
    printable ASCII is written as ``\\DDD``)."""
    if not isinstance(value, str):
        raise ValueError("give the record as a string")
    if "\n" in value or "\r" in value:
        raise ValueError("a record is one line")
    text = value.strip()
    if not text:
        raise ValueError("a record cannot be empty")
    owner_text, *tail = text.split(None, 1)
    words = tail[0].split(None, 1) if tail else []
    ttl: int | None = None
    klass = False
    while words and ((words[0].isdigit() and ttl is None) or words[0].upper() == "IN"):
        if words[0].isdigit():  # the TTL and the class, in either order (RFC 1035 5.1)
            ttl = int(words[0])
            if ttl > 2**31 - 1:
                raise ValueError(f"TTL {ttl} of {text!r} is too large")
        elif klass:
            break
        else:
            klass = True
        words = words[1].split(None, 1) if len(words) > 1 else []
    ttl = 3600 if ttl is None else ttl
    if len(words) < 2:
        raise ValueError(f"{text!r} is not a record (NAME [TTL] [IN] TYPE DATA)")
    owner = domain_name(owner_text)
    try:
        rdtype = dns.rdatatype.from_text(words[0])
    except dns.exception.DNSException:
        raise ValueError(f"{words[0]!r} in {text!r} is not a record type") from None
    if dns.rdatatype.is_metatype(rdtype):
        raise ValueError(f"{words[0]} is not a type of record data")
    try:
        rdata = dns.rdata.from_text(
            dns.rdataclass.IN, rdtype, words[1], origin=dns.name.root, relativize=False
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
        problems: list[tuple[str, str]] = []
        seen: set[str] = set()
        for i, record in enumerate(self.records):
            owner = record.split(" ")[0]
            if not dns.name.from_text(owner).is_subdomain(zone):
                problems.append((f"records[{i}]", f"{owner} is not in the zone {self.name}"))
            # The same data twice, whatever its TTL: Unbound would answer it twice.
            same = " ".join(record.split(" ")[:1] + record.split(" ")[2:])
            if same in seen:
                problems.append((f"records[{i}]", "is listed twice"))
            seen.add(same)
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
        insecure: set[str] = set()
        for i, name in enumerate(self.insecure_domains):
            if name in insecure:
                problems.append((f"insecure_domains[{i}]", f"{name} is listed twice"))
            insecure.add(name)
        targets: set[str] = set()
        for i, target in enumerate(self.forwarders):
            if target.text() in targets:
                problems.append((f"forwarders[{i}]", f"{target.text()} is listed twice"))
            targets.add(target.text())
        if sum(len(zone.records) for zone in self.local_zones) > MAX_LOCAL_DATA_TOTAL:
            problems.append(("local_zones", f"more than {MAX_LOCAL_DATA_TOTAL} records in all"))
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
def _record_type(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError("give the type as a string, such as TXT")
    try:
        rdtype = dns.rdatatype.from_text(value.strip().upper())
    except dns.exception.DNSException:
        raise ValueError(f"{value!r} is not a record type") from None
    if dns.rdatatype.is_metatype(rdtype):
        raise ValueError(f"{value} is not a type of record data")
    return dns.rdatatype.to_text(rdtype)


RecordType = Annotated[
    str,
    PlainValidator(_record_type),
    WithJsonSchema({"type": "string", "description": "a record type, such as A or TXT"}),
]


class CacheFlush(Input):
    """Remove ``name`` from the cache, or every name at and below it (``zone``).

    With neither ``zone`` nor ``type`` Unbound removes the name's common types (A, AAAA, NS,
    SOA, CNAME, DNAME, MX, PTR, SRV, NAPTR, SVCB, HTTPS) and the agent adds TXT, CAA, TLSA,
    SSHFP and DS, positive and negative answers alike; ``type``: that type only.
    ``negative``: also every negative answer (NXDOMAIN, NODATA, SERVFAIL) of every name.
    """

    name: Domain
    zone: bool = False
    type: RecordType | None = None
    negative: bool = False

    @model_validator(mode="after")
    def _one_scope(self) -> CacheFlush:
        if self.zone and self.type is not None:
            raise field_errors(
                "CacheFlush", [("type", "a zone flush removes every type: give zone or type")]
            )
        return self


class CacheFlushed(BaseModel):
    name: str
    zone: bool
    #: unbound-control's own words, e.g. "ok removed 3 rrsets, 2 messages and 0 key entries".
    detail: str


class CacheLookup(BaseModel):
    """Where Unbound would send a query for ``name`` (``unbound-control lookup``): the
    delegation it holds in its cache, or the forward or stub zone it would use."""

    name: str
    #: unbound-control's lines as it prints them.
    lines: list[str]


class CacheStats(BaseModel):
    """Unbound's counters (``unbound-control stats_noreset``), counted since Unbound last
    started or reloaded (a settings change reloads it and starts them again from zero);
    ``uptime_seconds`` counts from the start."""

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
    #: Answers that DNSSEC validation proved (secure) or found forged or broken (bogus).
    answers_secure: int = 0
    answers_bogus: int = 0
    #: Every counter as unbound-control prints it, for whoever needs more.
    raw: dict[str, float]
