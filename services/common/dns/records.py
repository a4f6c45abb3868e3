"""Record types: one class per type in a registry, each parsing and checking its own rdata.

Record data is written in BIND's master-file presentation format (``10 mail``, ``"v=spf1 -all"``,
``0 issue "ca.example"``) and parsed by dnspython; each type then adds the checks that the
parser does not make (digest lengths, SRV owners, key protocols, ...). ``check`` returns a
list of reasons, never raises, so that every problem of a request is reported at once.

Every type that BIND 9.18 serves and dnspython parses is managed: the types with rules of their
own have a class here, every other one is a ``GenericType`` (dnspython's parser only), and any
type may be written in RFC 3597's generic form (``TYPE65280 \\# 4 0A000001``). Left out: the
SOA (the zone's SOA fields), the records named writes itself when it signs a zone (RRSIG, NSEC,
NSEC3, NSEC3PARAM), meta types (ANY, OPT, TSIG, ...) and the types BIND calls obsolete (MD, MF).

Host-name rules (letters, digits, hyphens) apply only when a zone asks for strict host names
(``hostname_checks``): A and AAAA owners, and the targets of MX, NS, SRV and reverse PTR records,
as BIND's ``check-names`` does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from typing import Any, ClassVar

import dns.exception
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.SPF
import dns.rdtypes.ANY.TXT
import dns.tokenizer

from services.common.dns.names import hostname_problems

#: Largest TTL (RFC 2181 §8).
MAX_TTL = 2**31 - 1
REVERSE_SUFFIXES = (dns.name.from_text("in-addr.arpa."), dns.name.from_text("ip6.arpa."))


class RecordKey(tuple[dns.name.Name, str, Any]):
    """A record's identity (owner, type, rdata) that hashes once: an rdata hashes by its
    canonical wire form, which costs more than anything else a large zone's plan does with it.
    Equal to, and hashed as, the plain tuple of the same three."""

    _hash: int

    def __hash__(self) -> int:
        try:
            return self._hash
        except AttributeError:
            self._hash = tuple.__hash__(self)
            return self._hash


@dataclass(frozen=True)
class Record:
    """One resource record: absolute owner, type, TTL and parsed rdata."""

    name: dns.name.Name
    rtype: str
    ttl: int
    rdata: dns.rdata.Rdata

    @cached_property
    def key(self) -> RecordKey:
        """Identity of a record: TTL is an attribute, not part of it."""
        return RecordKey((self.name, self.rtype, self.rdata))

    @cached_property
    def data(self) -> str:
        return str(self.rdata.to_text())

    def line(self) -> str:
        """The record as one line of a zone file (absolute names)."""
        return f"{self.name.to_text()} {self.ttl} IN {self.rtype} {self.data}"


class RecordType:
    """Base of the record-type classes; a subclass per type is registered by ``@register``."""

    rtype: ClassVar[str]
    #: The owner is a host name (LDH), as for address records.
    host_owner: ClassVar[bool] = False

    def parse(self, data: str, origin: dns.name.Name) -> dns.rdata.Rdata:
        """Parse presentation-format ``data``; relative names are made absolute to ``origin``."""
        return dns.rdata.from_text(
            dns.rdataclass.IN,
            dns.rdatatype.from_text(self.rtype),
            data,
            origin=origin,
            relativize=False,
        )

    def check(self, rdata: Any, owner: dns.name.Name) -> list[str]:
        """Reasons why ``rdata`` at ``owner`` is wrong beyond what the parser checks."""
        return []

    def hostname_checks(self, rdata: Any, owner: dns.name.Name) -> list[str]:
        """Host-name reasons about the data, made only in a zone with strict host names."""
        return []


class GenericType(RecordType):
    """A type without rules of its own: dnspython's parser is its check."""

    def __init__(self, rtype: str) -> None:
        self.rtype = rtype  # type: ignore[misc]


REGISTRY: dict[str, RecordType] = {}

#: Types named writes itself in a signed zone, and types BIND refuses as obsolete.
NOT_MANAGED = {
    "SOA": "the SOA record is managed through the zone's SOA fields",
    "RRSIG": "RRSIG records are written by named when it signs the zone (dnssec-policy)",
    "NSEC": "NSEC records are written by named when it signs the zone (dnssec-policy)",
    "NSEC3": "NSEC3 records are written by named when it signs the zone (dnssec-policy)",
    "NSEC3PARAM": "NSEC3PARAM is set by the zone's dnssec-policy, not as a record",
    "MD": "MD is obsolete (RFC 973); BIND refuses it: use MX",
    "MF": "MF is obsolete (RFC 973); BIND refuses it: use MX",
    "TYPE0": "type 0 is reserved",
    "TYPE65533": "KEYDATA (65533) is BIND's private type for trust anchors",
    "TYPE65534": "type 65534 is BIND's private type for a zone's signing state "
    "(sig-signing-type): named ignores such records; use another private type, 65280 to 65533",
}


def register(cls: type[RecordType]) -> type[RecordType]:
    REGISTRY[cls.rtype] = cls()
    return cls


def type_problem(name: str) -> str | None:
    """Why records of type ``name`` are not managed, or None if they are."""
    try:
        value = dns.rdatatype.from_text(name)
    except dns.rdatatype.UnknownRdatatype:
        return f"{name!r} is not a record type (a type's name, or TYPEnnn for any other type)"
    text = dns.rdatatype.to_text(value)
    if text in NOT_MANAGED:
        return NOT_MANAGED[text]
    if dns.rdatatype.is_metatype(value) or value in (dns.rdatatype.OPT, dns.rdatatype.NONE):
        return f"{text} is a meta type of the protocol, not data a zone holds"
    return None


def record_type(name: str) -> RecordType | None:
    """The class of type ``name`` (``MX``, ``mx``, ``TYPE15``, ``TYPE65280``), or None if
    records of that type are not managed (``type_problem`` says why)."""
    upper = name.upper()
    found = REGISTRY.get(upper)
    if found is not None:
        return found
    if type_problem(upper) is not None:
        return None
    text = dns.rdatatype.to_text(dns.rdatatype.from_text(upper))
    return REGISTRY.get(text) or GenericType(text)


def _target(name: dns.name.Name, what: str, *, allow_root: bool = False) -> list[str]:
    if allow_root and name == dns.name.root:
        return []
    return [f"{what}: {reason}" for reason in hostname_problems(name)]


@register
class A(RecordType):
    """IPv4 address."""

    rtype = "A"
    host_owner = True


@register
class AAAA(RecordType):
    """IPv6 address."""

    rtype = "AAAA"
    host_owner = True


@register
class CNAME(RecordType):
    """Canonical name: the owner is an alias and holds no other data (RFC 1034 §3.6.2)."""

    rtype = "CNAME"


@register
class DNAME(RecordType):
    """Redirection of a whole subtree (RFC 6672)."""

    rtype = "DNAME"


@register
class NS(RecordType):
    """Name server of the owner; the target is a host name."""

    rtype = "NS"

    def hostname_checks(self, rdata: Any, owner: dns.name.Name) -> list[str]:
        return _target(rdata.target, "name server")


@register
class PTR(RecordType):
    """Pointer; in a reverse zone the target is a host name."""

    rtype = "PTR"

    def hostname_checks(self, rdata: Any, owner: dns.name.Name) -> list[str]:
        if any(owner.is_subdomain(suffix) for suffix in REVERSE_SUFFIXES):
            return _target(rdata.target, "pointer target")
        return []


@register
class MX(RecordType):
    """Mail exchanger; ``0 .`` is a null MX (RFC 7505)."""

    rtype = "MX"

    def hostname_checks(self, rdata: Any, owner: dns.name.Name) -> list[str]:
        return _target(rdata.exchange, "mail exchanger", allow_root=True)


@register
class SRV(RecordType):
    """Service location (RFC 2782). In a zone with strict host names the owner is
    ``_service._proto.name`` and the target a host name (named itself requires neither)."""

    rtype = "SRV"

    def hostname_checks(self, rdata: Any, owner: dns.name.Name) -> list[str]:
        problems = _target(rdata.target, "target", allow_root=True)
        labels = [label.decode(errors="replace") for label in owner.labels]
        if labels and labels[0] == "*":
            labels = labels[1:]
        if len(labels) < 3 or not (labels[0].startswith("_") and labels[1].startswith("_")):
            problems.append("the owner of an SRV record must be _service._proto.name (RFC 2782)")
        return problems


def _strings(data: str, rtype: str) -> list[bytes]:
    """The character-strings of TXT-like ``data`` (see ``TXT``)."""
    if '"' not in data:
        value = data.encode()
        return [value[i : i + 255] for i in range(0, len(value), 255)] or [b""]
    tok = dns.tokenizer.Tokenizer(data)
    chunks: list[bytes] = []
    while True:
        token = tok.get().unescape_to_bytes()
        if token.is_eol_or_eof():
            break
        if not (token.is_quoted_string() or token.is_identifier()):
            raise ValueError("expected a string")
        value = token.value if isinstance(token.value, bytes) else token.value.encode()
        chunks.extend(value[i : i + 255] for i in range(0, len(value), 255))
        if not value:
            chunks.append(b"")
    if not chunks:
        raise ValueError(f"a {rtype} record needs at least one string")
    return chunks


@register
class TXT(RecordType):
    """Text: one or more character-strings.

    ``data`` with a double quote is presentation format: ``"v=spf1 mx" "-all"`` is two strings,
    with master-file escapes (``\\"``, ``\\065``). ``data`` without any double quote is ONE
    string taken as it is, spaces and backslashes included: ``v=spf1 mx -all`` is the string
    ``v=spf1 mx -all``. Records are answered in presentation format, every string quoted. A
    string longer than 255 octets is split into several (DKIM keys), as BIND does.
    """

    rtype = "TXT"

    def parse(self, data: str, origin: dns.name.Name) -> dns.rdata.Rdata:
        chunks = _strings(data, self.rtype)
        return dns.rdtypes.ANY.TXT.TXT(dns.rdataclass.IN, dns.rdatatype.TXT, chunks)


@register
class SPF(RecordType):
    """SPF (RFC 7208 §3.1 keeps it obsolete but BIND serves it): data as for TXT."""

    rtype = "SPF"

    def parse(self, data: str, origin: dns.name.Name) -> dns.rdata.Rdata:
        chunks = _strings(data, self.rtype)
        return dns.rdtypes.ANY.SPF.SPF(dns.rdataclass.IN, dns.rdatatype.SPF, chunks)


@register
class CAA(RecordType):
    """Certification authority authorization (RFC 8659)."""

    rtype = "CAA"

    def check(self, rdata: Any, owner: dns.name.Name) -> list[str]:
        tag = rdata.tag.decode(errors="replace")
        if not tag.isalnum() or not tag.isascii():
            return [f"tag {tag!r} must be letters and digits (RFC 8659 §4.1)"]
        return []


def _length(actual: int, expected: dict[int, int], kind: int, what: str) -> list[str]:
    want = expected.get(kind)
    if want is not None and actual != want:
        return [f"{what} of type {kind} must be {want} octets, not {actual}"]
    return []


@register
class TLSA(RecordType):
    """DANE certificate association (RFC 6698; RFC 7218's numbers)."""

    rtype = "TLSA"

    def check(self, rdata: Any, owner: dns.name.Name) -> list[str]:
        problems = []
        if rdata.usage > 3:
            problems.append(f"certificate usage {rdata.usage} must be 0 to 3")
        if rdata.selector > 1:
            problems.append(f"selector {rdata.selector} must be 0 or 1")
        if rdata.mtype > 2:
            problems.append(f"matching type {rdata.mtype} must be 0 to 2")
        problems += _length(len(rdata.cert), {1: 32, 2: 64}, rdata.mtype, "association data")
        return problems


@register
class SMIMEA(TLSA):
    """S/MIME certificate association (RFC 8162): the fields and rules of TLSA."""

    rtype = "SMIMEA"


@register
class SSHFP(RecordType):
    """SSH host key fingerprint (RFC 4255, 6594, 7479)."""

    rtype = "SSHFP"

    def check(self, rdata: Any, owner: dns.name.Name) -> list[str]:
        problems = []
        if rdata.algorithm not in (1, 2, 3, 4, 6):
            problems.append(f"algorithm {rdata.algorithm} must be 1, 2, 3, 4 or 6")
        if rdata.fp_type not in (1, 2):
            problems.append(f"fingerprint type {rdata.fp_type} must be 1 (SHA-1) or 2 (SHA-256)")
        problems += _length(len(rdata.fingerprint), {1: 20, 2: 32}, rdata.fp_type, "fingerprint")
        return problems


@register
class NAPTR(RecordType):
    """Naming authority pointer (RFC 3403)."""

    rtype = "NAPTR"

    def check(self, rdata: Any, owner: dns.name.Name) -> list[str]:
        problems = []
        flags = rdata.flags.decode(errors="replace")
        if flags and not (flags.isalnum() and flags.isascii()):
            problems.append(f"flags {flags!r} must be letters and digits (RFC 3403 §4.1)")
        if rdata.regexp and rdata.replacement != dns.name.root:
            problems.append("regexp and replacement are exclusive: one of them must be empty")
        return problems


@register
class DS(RecordType):
    """Delegation signer (RFC 4034)."""

    rtype = "DS"

    def check(self, rdata: Any, owner: dns.name.Name) -> list[str]:
        return _length(len(rdata.digest), {1: 20, 2: 32, 4: 48}, rdata.digest_type, "digest")


@register
class CDS(DS):
    """Child DS (RFC 7344); ``0 0 0 00`` asks the parent to remove the DS (RFC 8078 §4)."""

    rtype = "CDS"

    def check(self, rdata: Any, owner: dns.name.Name) -> list[str]:
        if rdata.algorithm == 0 and rdata.digest_type == 0:
            if rdata.key_tag != 0 or rdata.digest != b"\x00":
                return ["the CDS that asks for deletion is exactly 0 0 0 00 (RFC 8078 §4)"]
            return []
        return super().check(rdata, owner)


@register
class DNSKEY(RecordType):
    """DNSSEC public key (RFC 4034 §2): protocol 3."""

    rtype = "DNSKEY"

    def check(self, rdata: Any, owner: dns.name.Name) -> list[str]:
        if rdata.protocol != 3:
            return [f"protocol {rdata.protocol} must be 3 (RFC 4034 §2.1.2)"]
        return []


@register
class CDNSKEY(DNSKEY):
    """Child DNSKEY (RFC 7344); ``0 3 0 AA==`` asks for deletion (RFC 8078 §4)."""

    rtype = "CDNSKEY"


@register
class URI(RecordType):
    """URI (RFC 7553): the target is not empty."""

    rtype = "URI"

    def check(self, rdata: Any, owner: dns.name.Name) -> list[str]:
        return [] if rdata.target else ["the target URI is empty (RFC 7553 §4.5)"]


@register
class ZONEMD(RecordType):
    """Message digest of the zone (RFC 8976), at the apex; dnspython checks digest sizes."""

    rtype = "ZONEMD"


@register
class CSYNC(RecordType):
    """Child-to-parent synchronization (RFC 7477), at the zone's apex."""

    rtype = "CSYNC"


@register
class HINFO(RecordType):
    """Host information: CPU and OS, two character-strings (RFC 1035 §3.3.2)."""

    rtype = "HINFO"


@register
class LOC(RecordType):
    """Location (RFC 1876); dnspython checks the ranges of every field."""

    rtype = "LOC"


@register
class SVCB(RecordType):
    """Service binding (RFC 9460); dnspython checks the keys and the alias form. Keys that
    dnspython names but BIND 9.18 cannot read in a zone file (``ohttp``, ``docpath``) are
    refused: the zone could not be written for named again."""

    rtype = "SVCB"

    def check(self, rdata: Any, owner: dns.name.Name) -> list[str]:
        return [
            f"BIND 9.18 does not know the key {key.name.lower()} (key{int(key)}) of {self.rtype}"
            for key in rdata.params
            if int(key) in _SVCB_KEYS_UNKNOWN_TO_BIND
        ]


@register
class HTTPS(SVCB):
    """SVCB for HTTPS (RFC 9460 §9): the rules of SVCB."""

    rtype = "HTTPS"


#: SVCB keys that dnspython writes by a name BIND 9.18 does not read (ohttp, docpath).
_SVCB_KEYS_UNKNOWN_TO_BIND = {8, 10}

#: Types whose records belong at the zone's apex only.
APEX_ONLY = {"ZONEMD": "RFC 8976 §2", "CSYNC": "RFC 7477 §2"}


_EXPECTED = re.compile(r'expected EOL or EOF, got \d+ "?(?P<token>[^"]*)"?')


def rdata_message(rtype: str, exc: BaseException) -> str:
    """Why the parser refused data of type ``rtype``, in plain words (dnspython says "Text
    input is malformed." of an address that is not one)."""
    text = str(exc)
    if rtype == "A" and "malformed" in text:
        return "not valid A data: not an IPv4 address (four numbers 0 to 255 with dots)"
    if rtype == "AAAA" and "malformed" in text:
        return "not valid AAAA data: not an IPv6 address"
    if isinstance(exc, dns.exception.UnexpectedEnd):
        return f"not valid {rtype} data: it ends too early (is a quote not closed?)"
    if text in ("expecting an identifier", "expecting a string"):
        return f"not valid {rtype} data: a field is missing"
    if text == "expecting an integer":
        return f"not valid {rtype} data: a field that must be a number is not one"
    extra = _EXPECTED.search(text)
    if extra:
        return f"not valid {rtype} data: {extra.group('token')!r} is one field too many"
    return f"not valid {rtype} data: {text}"


def parse_checked(
    rtype: RecordType, data: str, owner: dns.name.Name, origin: dns.name.Name
) -> tuple[dns.rdata.Rdata | None, list[str]]:
    """Parse and check ``data``: the rdata, or None and the reasons."""
    try:
        rdata = rtype.parse(data, origin)
    except (dns.exception.DNSException, ValueError) as exc:
        return None, [rdata_message(rtype.rtype, exc)]
    return rdata, rtype.check(rdata, owner)


#: Types a user manages through records; SOA is managed through the zone's SOA fields.
MANAGED_TYPES = tuple(REGISTRY)
