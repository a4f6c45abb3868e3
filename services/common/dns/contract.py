"""The wire contract between Central and the dns-agent (JSON over mutual TLS, port 1337).

One schema family per entity. Names travel as absolute names with their final dot in answers;
requests may give record owners relative to the zone (``www``, ``@``, ``*.dev``). Record data
is BIND's presentation format. Request models derive from ``services.common.model.Input``:
unknown fields are refused and nothing is coerced (``"ttl": "60"`` is refused, not taken as 60).
Endpoints (all JSON; errors in the one problem format of ``services.common.problems``, every
problem naming its field, 422 for bad input with nothing applied):

    GET    /zones                          -> list[ZonePublic]
    POST   /zones              ZoneCreate  -> ZonePublic
    GET    /zones/{zone}                   -> ZonePublic
    DELETE /zones/{zone}
    PATCH  /zones/{zone}       ZoneUpdate  -> ZonePublic (SOA fields, zone options)
    POST   /zones/{zone}/enable | /disable -> ZonePublic
    GET    /zones/{zone}/records           -> ZoneContent (read back from named by AXFR)
    POST   /zones/{zone}/changes ChangeSet -> ChangeResult
    POST   /zones/import       ZoneImport  -> ZoneImported (the zone and what was left out)
    POST   /zones/import/preview ZoneImport -> ImportPreview (nothing is changed)
    GET    /zones/{zone}/export            -> ZoneExport
    GET    /options                        -> ServerOptions
    PUT    /options            ServerOptions -> ServerOptions
    GET    /keys                           -> list[TsigKeyPublic]   (never a secret)
    POST   /keys               TsigKeyInstall -> TsigKeyPublic
    DELETE /keys/{name}                    (409 naming the zones that use it)
    GET    /dnssec/policies                -> list[DnssecPolicy]
    PUT    /dnssec/policies/{name} DnssecPolicy -> DnssecPolicy
    DELETE /dnssec/policies/{name}         (409 naming the zones it signs)
    GET    /zones/{zone}/dnssec            -> ZoneDnssec (keys, DNSKEY, DS, rndc dnssec -status)
    POST   /zones/{zone}/dnssec/rollover Rollover -> ZoneDnssec
    POST   /zones/{zone}/dnssec/checkds DsChange -> ZoneDnssec (the parent's DS published/withdrawn)
"""

from __future__ import annotations

import hashlib
import ipaddress
from enum import StrEnum
from typing import Annotated, Literal

import dns.exception
import dns.name
import dns.rdatatype
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from services.common.dns.names import zone_name_problems
from services.common.dns.options import ServerOptions, field_errors, forwarder_problems
from services.common.dns.records import MAX_TTL
from services.common.dns.tsig import NAME_PATTERN, check_name
from services.common.model import Input

__all__ = [
    "Change",
    "ChangeResult",
    "ChangeSet",
    "ImportPreview",
    "ImportRefusal",
    "ImportedRecord",
    "RecordData",
    "ServerOptions",
    "Soa",
    "TsigKey",
    "UpdateGrant",
    "ZoneContent",
    "ZoneCreate",
    "ZoneExport",
    "ZoneImport",
    "ZoneImported",
    "ZoneKind",
    "ZonePublic",
    "ZoneUpdate",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
TTL = Field(default=None, ge=0, le=MAX_TTL)
#: The name of a TSIG key object (``services.common.dns.tsig``).
KeyName = Annotated[str, Field(pattern=NAME_PATTERN), AfterValidator(check_name)]
#: A dnssec-policy: BIND's ``default`` or ``insecure``, or a policy defined on the server.
PolicyName = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")]


class _Model(Input):
    """A request model of the contract: unknown fields refused, nothing coerced (``Input``)."""


class _Answer(BaseModel):
    """An answer of the agent: what it sends is what it means (no unknown fields either)."""

    model_config = ConfigDict(extra="forbid")


class ZoneKind(StrEnum):
    """What named does with a zone (BIND ARM, "zone" statement, type)."""

    primary = "primary"
    secondary = "secondary"
    forward = "forward"
    stub = "stub"


#: The SOA's timers are unsigned 32-bit numbers (RFC 1035 §3.3.13); 0 is valid.
SOA_TIMER = 2**32 - 1


class Soa(_Model):
    """SOA fields; the serial is kept by the agent and named, never set by hand."""

    mname: str | None = Field(default=None, description="primary name server; ns1.<zone>")
    rname: str | None = Field(default=None, description="mailbox; hostmaster.<zone>")
    refresh: int = Field(default=3600, ge=0, le=SOA_TIMER)
    retry: int = Field(default=900, ge=0, le=SOA_TIMER)
    expire: int = Field(default=1209600, ge=0, le=SOA_TIMER)
    minimum: int = Field(default=300, ge=0, le=SOA_TIMER)


class TsigKey(_Model):
    """A TSIG key a secondary or stub zone uses towards its primaries.

    The secret is given when the zone is made or its key changed, and kept by the dns-agent
    alone: its answers carry the secret's ``fingerprint`` instead (``shown``), by which
    Central checks that a change of the key took without ever holding the secret again."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
    algorithm: Literal["hmac-sha256", "hmac-sha384", "hmac-sha512", "hmac-sha1", "hmac-md5"] = (
        "hmac-sha256"
    )
    secret: str | None = Field(
        default=None, pattern=r"^[A-Za-z0-9+/]+={0,2}$", min_length=16, max_length=256
    )
    fingerprint: str | None = Field(
        default=None, pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the secret, in answers"
    )

    def shown(self) -> TsigKey:
        """This key as the agent answers it: the secret's fingerprint, not the secret."""
        fingerprint = self.fingerprint or (tsig_fingerprint(self.secret) if self.secret else None)
        return TsigKey(name=self.name, algorithm=self.algorithm, fingerprint=fingerprint)

    @field_validator("name")
    @classmethod
    def _not_ours(cls, value: str) -> str:
        if value.rstrip(".").lower() in ("burrow-tsig", "rndc-key"):
            raise ValueError(f"key name {value!r} is reserved for the appliance's own keys")
        return value


def tsig_fingerprint(secret: str) -> str:
    """The fingerprint of a TSIG secret (SHA-256 of its text, hex)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def _key_problems(key: TsigKey | None) -> list[tuple[str, str]]:
    """A zone's key as given in a request: its secret, never a fingerprint."""
    if key is None:
        return []
    problems = []
    if not key.secret:
        problems.append(("tsig_key.secret", "a zone's key needs its secret"))
    if key.fingerprint is not None:
        problems.append(("tsig_key.fingerprint", "a fingerprint is only answered, never given"))
    return problems


class RecordData(_Model):
    """One record. ``name`` relative to the zone (``@`` = apex) or absolute with a final dot."""

    name: str = Field(min_length=1, max_length=255)
    type: str = Field(min_length=1, max_length=10)
    ttl: int | None = TTL
    data: str = Field(min_length=0, max_length=65535)

    @field_validator("type")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper()


class Change(_Model):
    """Create, update (``record`` is replaced by ``new``) or delete one record.

    ``ptr``: for an A or AAAA record, also create, move or delete its PTR record in the managed
    reverse zone that holds the address.
    """

    action: Literal["create", "update", "delete"]
    record: RecordData
    new: RecordData | None = None
    ptr: bool = False

    @model_validator(mode="after")
    def _new_for_update(self) -> Change:
        if self.action == "update" and self.new is None:
            raise field_errors(
                "Change",
                [("new", "an update needs 'new', the record that replaces 'record'")],
            )
        if self.action != "update" and self.new is not None:
            raise field_errors("Change", [("new", "'new' is only for an update")])
        return self


class ChangeSet(_Model):
    """Changes to one zone, applied together or not at all."""

    changes: list[Change] = Field(min_length=1, max_length=100_000)
    comment: str = Field(default="", max_length=1000)


class ChangeResult(_Answer):
    """What an applied change set did."""

    zone: str
    applied: int
    serial: int
    method: Literal["update", "reload"]
    ptr_zones: list[str] = []


class UpdateGrant(_Model):
    """A narrower right to update a primary zone than ``update_keys`` gives: a key may change
    only some names and types (BIND ARM, "update-policy": ``grant KEY MATCH [NAME] TYPES``).

    ``match``: ``zonesub`` (any name of the zone), ``subdomain`` (``name`` and below),
    ``name`` (exactly ``name``). ``name`` is relative to the zone or absolute; ``types`` are
    record types, empty for any but RRSIG, NSEC, NSEC3 and SOA's and NS's own rules."""

    key: KeyName
    match: Literal["zonesub", "subdomain", "name"] = "zonesub"
    name: str | None = Field(default=None, max_length=255)
    types: list[str] = Field(default=[], max_length=32)

    @model_validator(mode="after")
    def _fields(self) -> UpdateGrant:
        problems: list[tuple[str, str]] = []
        if self.match == "zonesub" and self.name:
            problems.append(("name", "zonesub takes no name: it is the whole zone"))
        if self.match != "zonesub" and not self.name:
            problems.append(("name", f"{self.match} needs a name"))
        if self.name and (problem := owner_problem(self.name)):
            problems.append(("name", problem))
        for index, rtype in enumerate(self.types):
            try:
                dns.rdatatype.from_text(rtype)
            except dns.exception.DNSException:
                problems.append((f"types[{index}]", f"{rtype!r} is not a record type"))
        if problems:
            raise field_errors("UpdateGrant", problems)
        self.types = [t.upper() for t in self.types]
        return self


def owner_problem(name: str) -> str | None:
    """Why ``name`` is no domain name, or None."""
    try:
        dns.name.from_text(name, origin=None if name.endswith(".") else dns.name.root)
    except (dns.exception.DNSException, ValueError) as exc:
        return f"{name!r} is not a domain name ({exc})"
    return None


class ZoneBase(_Model):
    """The fields of a zone that a user sets."""

    name: str = Field(min_length=1, max_length=255)
    kind: ZoneKind = ZoneKind.primary
    ttl: int = Field(default=3600, ge=0, le=MAX_TTL)
    soa: Soa = Soa()
    nameservers: list[str] = Field(default=[], max_length=32)
    primaries: list[IPAddress] = Field(default=[], max_length=32)
    tsig_key: TsigKey | None = None
    forwarders: list[IPAddress] = Field(default=[], max_length=32)
    forward_only: bool = True
    allow_transfer: list[IPNetwork] = Field(default=[], max_length=64)
    allow_update: list[IPNetwork] = Field(default=[], max_length=64)
    notify: Literal["yes", "no", "explicit"] = "no"
    also_notify: list[IPAddress] = Field(default=[], max_length=32)
    update_keys: list[KeyName] = Field(
        default=[], max_length=32, description="TSIG keys that may update the zone"
    )
    transfer_keys: list[KeyName] = Field(
        default=[], max_length=32, description="TSIG keys that may transfer the zone"
    )
    update_grants: list[UpdateGrant] = Field(
        default=[], max_length=64, description="keys that may update some names and types"
    )
    dnssec_policy: PolicyName | None = Field(
        default=None, description="sign the zone with this dnssec-policy; null: unsigned"
    )
    strict_hostnames: bool = Field(
        default=False,
        description="A and AAAA owners, and MX, NS, SRV and reverse PTR targets, must be host "
        "names (letters, digits, hyphens), as BIND's check-names fail",
    )

    @field_validator("name")
    @classmethod
    def _zone_name(cls, value: str) -> str:
        problems = zone_name_problems(value)
        if problems:
            raise ValueError(problems[0])
        return (value if value.endswith(".") else value + ".").lower()

    @model_validator(mode="after")
    def _kind_fields(self) -> ZoneBase:
        problems: list[tuple[str, str]] = []
        kind = self.kind.value
        # In the order of the fields, as pydantic reports its own.
        if self.kind in (ZoneKind.secondary, ZoneKind.stub) and not self.primaries:
            problems.append(("primaries", f"a {kind} zone needs at least one primary"))
        if self.kind not in (ZoneKind.secondary, ZoneKind.stub):
            if self.primaries:
                problems.append(("primaries", "primaries are only for secondary and stub zones"))
            if self.tsig_key:
                problems.append(("tsig_key", "tsig_key is only for secondary and stub zones"))
        if self.kind == ZoneKind.forward and not self.forwarders:
            problems.append(("forwarders", "a forward zone needs at least one forwarder"))
        if self.kind != ZoneKind.forward and self.forwarders:
            problems.append(("forwarders", f"forwarders are only for a forward zone, not {kind}"))
        problems += forwarder_problems("forwarders", self.forwarders)
        if self.kind != ZoneKind.primary and self.update_keys:
            problems.append(("update_keys", "only a primary zone takes updates"))
        if self.kind not in (ZoneKind.primary, ZoneKind.secondary) and self.transfer_keys:
            problems.append(("transfer_keys", f"a {kind} zone is not transferred"))
        if self.kind != ZoneKind.primary and self.dnssec_policy:
            problems.append(("dnssec_policy", "only a primary zone is signed here"))
        problems += _twice("update_keys", self.update_keys)
        problems += _twice("transfer_keys", self.transfer_keys)
        if self.kind != ZoneKind.primary and self.update_grants:
            problems.append(("update_grants", "only a primary zone takes updates"))
        if self.update_grants and self.allow_update:
            problems.append(
                (
                    "update_grants",
                    "grants (BIND's update-policy) and updates by address (allow_update) do not "
                    "go together in one zone: named takes one or the other",
                )
            )
        if problems:
            raise field_errors(type(self).__name__, problems)
        return self


class ZoneUpdate(_Model):
    """Fields of an existing zone to change; what is left out stays as it is.

    The kind and the name of a zone do not change: delete it and create it again.
    """

    ttl: int | None = Field(default=None, ge=0, le=MAX_TTL)
    soa: Soa | None = None
    primaries: list[IPAddress] | None = Field(default=None, max_length=32)
    tsig_key: TsigKey | None = None
    forwarders: list[IPAddress] | None = Field(default=None, max_length=32)
    forward_only: bool | None = None
    allow_transfer: list[IPNetwork] | None = Field(default=None, max_length=64)
    allow_update: list[IPNetwork] | None = Field(default=None, max_length=64)
    notify: Literal["yes", "no", "explicit"] | None = None
    also_notify: list[IPAddress] | None = Field(default=None, max_length=32)
    update_keys: list[KeyName] | None = Field(default=None, max_length=32)
    transfer_keys: list[KeyName] | None = Field(default=None, max_length=32)
    update_grants: list[UpdateGrant] | None = Field(default=None, max_length=64)
    dnssec_policy: PolicyName | None = Field(
        default=None, description="a policy signs the zone; null unsigns it (through insecure)"
    )
    strict_hostnames: bool | None = None

    @model_validator(mode="after")
    def _checked(self) -> ZoneUpdate:
        problems = forwarder_problems("forwarders", self.forwarders or [])
        problems += _key_problems(self.tsig_key)
        problems += _twice("update_keys", self.update_keys or [])
        problems += _twice("transfer_keys", self.transfer_keys or [])
        if problems:
            raise field_errors("ZoneUpdate", problems)
        return self


def _twice(field: str, names: list[str]) -> list[tuple[str, str]]:
    seen: set[str] = set()
    problems = []
    for index, name in enumerate(names):
        if name.lower() in seen:
            problems.append((f"{field}[{index}]", f"{name} is listed twice"))
        seen.add(name.lower())
    return problems


class ZoneCreate(ZoneBase):
    """A new zone; a primary zone may come with its first records."""

    records: list[RecordData] = Field(default=[], max_length=100_000)
    enabled: bool = True

    @model_validator(mode="after")
    def _key_given(self) -> ZoneCreate:
        if problems := _key_problems(self.tsig_key):
            raise field_errors("ZoneCreate", problems)
        return self


class ZonePublic(ZoneBase):
    """A zone as the agent knows it."""

    enabled: bool
    serial: int | None = None
    file: str | None = None

    def shown(self) -> ZonePublic:
        """The zone as the agent answers it: its key's fingerprint, never its secret."""
        if self.tsig_key is None:
            return self
        return self.model_copy(update={"tsig_key": self.tsig_key.shown()})


class ZoneContent(_Answer):
    """A zone's records as named serves them (read back by AXFR); SOA apart."""

    zone: str
    serial: int
    soa: RecordData
    records: list[RecordData]


class ZoneRows(_Answer):
    """A zone's records as rows of owner (absolute), type, TTL and data: ``ZoneContent`` in
    the compact form an import's answer carries (a large zone's records are read and written
    several times quicker as rows than as objects)."""

    zone: str
    serial: int
    soa: RecordData
    rows: list[tuple[str, str, int, str]]


class ZoneImport(_Model):
    """A zone file in BIND's master format that becomes a managed primary zone.

    A file with refused entries is refused whole, unless ``leave_out_refused`` is set: then the
    refused records are left out and listed (``ZoneImported.left_out``); problems of the file
    as a whole (no SOA, no NS at the apex) are never left out.
    """

    name: str
    text: str = Field(min_length=1, max_length=64 * 1024 * 1024)
    strict_hostnames: bool = False
    leave_out_refused: bool = Field(
        default=False, description="import the rest of a file when some records are refused"
    )

    @field_validator("name")
    @classmethod
    def _zone_name(cls, value: str) -> str:
        problems = zone_name_problems(value)
        if problems:
            raise ValueError(problems[0])
        return (value if value.endswith(".") else value + ".").lower()


class ZoneExport(_Answer):
    """A zone file of what named serves."""

    zone: str
    serial: int
    text: str


class ImportRefusal(_Answer):
    """An entry of an imported file that is refused, and why (``line`` None: the whole file)."""

    line: int | None
    field: str
    name: str = ""
    type: str = ""
    message: str
    can_leave_out: bool


class ImportedRecord(_Answer):
    """A record an import creates, with the line of the file it comes from."""

    line: int
    name: str
    type: str
    ttl: int
    data: str


class ImportPreview(_Answer):
    """What an import of a file would do; nothing is changed."""

    zone: str
    soa: RecordData | None
    records: list[ImportedRecord]
    refused: list[ImportRefusal]
    importable: bool = Field(description="the file would be imported as it is")
    importable_leaving_out: bool = Field(
        description="the file would be imported with leave_out_refused"
    )


class ZoneImported(ZonePublic):
    """An imported zone, and the records of the file left out (``leave_out_refused``).

    ``content``: asked for with ``?records=true``, the zone's records once named serves the
    imported file's serial (named loads a zone file whole: every record of the file is then
    served), so that they need not be read back by a zone transfer; None when the agent did
    not see that serial served (the caller reads the zone back)."""

    left_out: list[ImportRefusal] = []
    content: ZoneRows | None = None
