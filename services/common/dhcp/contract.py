"""The wire models of DHCP management, shared by Central and the dhcp-agent.

A scope is a Kea subnet (``subnet4`` or ``subnet6`` entry); the family follows from its
address. Each model checks what it can check alone (a pool inside its subnet, one identifier
per reservation); what needs the whole configuration (overlapping scopes, unknown option codes)
is in ``services.common.dhcp.checks``.

Request models derive from ``services.common.model.Input``: unknown fields are refused and
nothing is coerced (``"valid_lifetime": "4000"`` and ``"always_send": "yes"`` are errors that
name the field). The same models read Kea's ``config-get`` output (``services.common.dhcp.kea``),
which gives real JSON types. Addresses and networks come as text and are parsed with messages
in plain words. Answers (``ChangeResult``, ``ConfigState``, leases...) are plain models.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    BaseModel,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    PlainValidator,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

from services.common.dhcp.options import OPTION_TYPES, Family
from services.common.model import Input


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"must be {what} written as text")
    return value.strip()


def _ip_address(value: Any) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    if isinstance(value, ipaddress.IPv4Address | ipaddress.IPv6Address):
        return value
    text = _text(value, "an IP address")
    try:
        return _parsed_address(text)
    except ValueError:
        raise ValueError(f"{text!r} is not an IPv4 or IPv6 address") from None


# Reading a configuration of 10,000 reservations parses as many addresses, mostly the same
# ones again at the next read; addresses are immutable values.
@functools.lru_cache(maxsize=65536)
def _parsed_address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    return ipaddress.ip_address(text)


def _ipv4_address(value: Any) -> ipaddress.IPv4Address:
    if isinstance(value, ipaddress.IPv4Address):
        return value
    text = _text(value, "an IPv4 address")
    try:
        return ipaddress.IPv4Address(text)
    except ValueError:
        raise ValueError(f"{text!r} is not an IPv4 address") from None


def _network(value: Any, version: int | None) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    if isinstance(value, ipaddress.IPv4Network | ipaddress.IPv6Network) and (
        version is None or value.version == version
    ):
        return value
    what = {None: "an IP network", 4: "an IPv4 network", 6: "an IPv6 network"}[version]
    text = _text(value, what)
    try:
        loose = ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise ValueError(f"{text!r} is not {what} (address/prefix length)") from None
    if version is not None and loose.version != version:
        raise ValueError(f"{text!r} is not {what}")
    try:
        return ipaddress.ip_network(text)
    except ValueError:
        raise ValueError(f"{text!r} has host bits set: the network is {loose}") from None


def _any_network(value: Any) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    return _network(value, None)


def _ipv6_network(value: Any) -> ipaddress.IPv6Network:
    network = _network(value, 6)
    assert isinstance(network, ipaddress.IPv6Network)
    return network


@dataclass(frozen=True)
class _Parsed:
    """A value written as text on the wire, read by ``parse``: a string of ``format`` (with
    an example) in the JSON schema."""

    parse: Callable[[Any], Any]
    format: str
    example: str | None = None

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return PlainValidator(self.parse).__get_pydantic_core_schema__(source, handler)

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        out: JsonSchemaValue = {"type": "string", "format": self.format}
        if self.example:
            out["examples"] = [self.example]
        return out


#: An IPv4 or IPv6 address, as text on the wire.
IPAddress = Annotated[
    ipaddress.IPv4Address | ipaddress.IPv6Address,
    _Parsed(_ip_address, "ipvanyaddress", "198.51.100.10"),
]
IPv4Address = Annotated[ipaddress.IPv4Address, _Parsed(_ipv4_address, "ipv4")]
#: An IPv4 or IPv6 network (``198.51.100.0/24``); host bits are refused.
IPNetwork = Annotated[
    ipaddress.IPv4Network | ipaddress.IPv6Network,
    _Parsed(_any_network, "ipvanynetwork", "198.51.100.0/24"),
]
IPv6Network = Annotated[ipaddress.IPv6Network, _Parsed(_ipv6_network, "ipv6network")]
#: Seconds, 0 to 2^32 - 1 (Kea's lifetimes and timers are unsigned 32-bit numbers).
Lifetime = Annotated[int, Field(ge=0, le=2**32 - 1)]
NAME = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$"
#: Kea's option space and option names: letters, digits, ``_`` and ``-`` (not first), so
#: vendor spaces (``vendor-4491``) and numeric names (``339``) are valid.
_SPACE = r"^[A-Za-z0-9_][A-Za-z0-9_-]{0,127}$"
_HW_ADDRESS = r"^([0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}$"
_CLIENT_ID = r"^([0-9A-Fa-f]{2}[:-]?){2,128}$"
_DUID = r"^([0-9A-Fa-f]{2}[:-]?){2,130}$"
#: A circuit id or flexible identifier: hexadecimal bytes or a quoted text (``'s0mEVaLue'``).
_OPAQUE_ID = r"^(([0-9A-Fa-f]{2}[:-]?){1,128}|'[^'\x00-\x1f]{1,128}')$"
HOSTNAME = r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,252})$"


@dataclass(frozen=True)
class _Matching:
    """Text that matches ``regex``, refused with ``message`` (plain words, not the regular
    expression); the expression stays in the JSON schema as the ``pattern``."""

    regex: str
    message: str

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        compiled, message = re.compile(self.regex), self.message

        def check(value: str) -> str:
            if not compiled.match(value):
                raise ValueError(message)
            return value

        return core_schema.no_info_after_validator_function(check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {**handler(schema), "pattern": self.regex}


#: A name of a shared network or a client class.
Name = Annotated[
    str,
    _Matching(
        NAME,
        "must start with a letter or a digit and hold only letters, digits and _ . : - "
        "(at most 128 characters)",
    ),
]
OptionSpace = Annotated[
    str,
    _Matching(
        _SPACE,
        "must hold only letters, digits, _ and - and not start with - (at most 128 characters)",
    ),
]
HwAddress = Annotated[
    str,
    _Matching(
        _HW_ADDRESS, "must be a hardware address of six hexadecimal bytes (02:00:00:00:00:01)"
    ),
]
ClientId = Annotated[
    str, _Matching(_CLIENT_ID, "must be 2 to 128 hexadecimal bytes (01:02:00:00:00:00:01)")
]
Duid = Annotated[
    str, _Matching(_DUID, "must be 2 to 130 hexadecimal bytes (00:03:00:01:02:00:00:00:00:01)")
]
OpaqueId = Annotated[
    str,
    _Matching(
        _OPAQUE_ID,
        "must be 1 to 128 hexadecimal bytes (01:11:22:33) or a text in single quotes ('s0mEVaLue')",
    ),
]
Hostname = Annotated[
    str,
    _Matching(
        HOSTNAME,
        "must be a host name: letters, digits, dots and hyphens, starting with a letter or a digit",
    ),
]

#: Kea keys of an object that Central does not model, verbatim (see ``services.common.dhcp.kea``).
Extra = Annotated[
    dict[str, Any] | None,
    Field(
        default=None,
        description="Kea's keys of this object that Central does not model, verbatim; written "
        "back untouched. Left out on a write: those the object has on the server are kept.",
    ),
]


class OptionValue(Input):
    """One DHCP option value, given by code or by name (Kea ``option-data``)."""

    code: int | None = Field(default=None, ge=0, le=65535)
    name: str | None = Field(default=None, min_length=1, max_length=128)
    space: str | None = Field(default=None, min_length=1, max_length=128)
    data: str = ""
    csv_format: bool = True
    always_send: bool = False
    extra: Extra = None

    @model_validator(mode="after")
    def _code_or_name(self) -> OptionValue:
        if self.code is None and self.name is None:
            raise ValueError("give the option's code or its name")
        return self


class OptionDef(Input):
    """A custom option definition (Kea ``option-def``), in the base or a vendor space."""

    code: int = Field(ge=1, le=65535)
    name: OptionSpace
    type: str
    array: bool = False
    space: OptionSpace | None = None
    record_types: str = Field(default="", validate_default=True)
    encapsulate: str = ""
    extra: Extra = None

    @field_validator("type")
    @classmethod
    def _known_type(cls, kind: str) -> str:
        if kind not in OPTION_TYPES:
            raise ValueError(f"must be one of {', '.join(OPTION_TYPES)}")
        return kind

    @field_validator("record_types")
    @classmethod
    def _record_types(cls, record_types: str, info: ValidationInfo) -> str:
        if info.data.get("type") == "record" and not record_types.strip():
            raise ValueError("a record option needs its record types (uint8, ipv4-address)")
        for kind in (t.strip() for t in record_types.split(",") if t.strip()):
            if kind not in OPTION_TYPES or kind in ("record", "empty"):
                raise ValueError(f"record type {kind!r} is not allowed")
        return record_types


class Pool(Input):
    """An address range of a scope, optionally limited to a client class."""

    start: IPAddress
    end: IPAddress
    client_class: Name | None = None
    options: list[OptionValue] = []
    extra: Extra = None

    @field_validator("end")
    @classmethod
    def _ordered(
        cls, end: ipaddress.IPv4Address | ipaddress.IPv6Address, info: ValidationInfo
    ) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
        start = info.data.get("start")
        if start is None:
            return end  # start is wrong already: said there
        if start.version != end.version:
            raise ValueError(f"{end} is not of the same address family as the start {start}")
        if int(end) < int(start):
            raise ValueError(f"the pool ends ({end}) before it starts ({start})")
        return end

    def contains(self, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
        return address.version == self.start.version and self.start <= address <= self.end  # type: ignore[operator]

    def overlaps(self, other: Pool) -> bool:
        return int(self.start) <= int(other.end) and int(other.start) <= int(self.end)


class PrefixPool(Input):
    """A DHCPv6 prefix delegation pool (Kea ``pd-pools``): ``prefix`` is cut into prefixes of
    ``delegated_len`` bits, one per requesting router (Kea manual 9.2.11)."""

    prefix: IPv6Network
    delegated_len: int = Field(ge=1, le=128)
    client_class: Name | None = None
    options: list[OptionValue] = []
    extra: Extra = None

    @field_validator("delegated_len")
    @classmethod
    def _lengths(cls, delegated_len: int, info: ValidationInfo) -> int:
        prefix = info.data.get("prefix")
        if prefix is not None and delegated_len < prefix.prefixlen:
            raise ValueError(
                f"{delegated_len} is shorter than the pool's prefix {prefix} (/{prefix.prefixlen})"
            )
        return delegated_len


#: The identifiers a Kea host reservation is made by (Kea 2.2 manual 8.3.5 and 9.3.5).
IdentifierKind = Literal["hw_address", "client_id", "duid", "circuit_id", "flex_id"]
IDENTIFIERS: tuple[IdentifierKind, ...] = get_args(IdentifierKind)


class Reservation(Input):
    """A host reservation: one identifier, the reserved address(es) and (DHCPv6) prefixes,
    hostname, options, classes and (DHCPv4) BOOTP fields. ``circuit_id`` is the relay agent's
    circuit id (DHCPv4); ``flex_id`` needs the flex_id hook in Kea."""

    hw_address: HwAddress | None = None
    client_id: ClientId | None = None
    duid: Duid | None = None
    circuit_id: OpaqueId | None = None
    flex_id: OpaqueId | None = None
    ip_addresses: list[IPAddress] = []
    prefixes: list[IPv6Network] = []  # DHCPv6 only
    hostname: Hostname | None = None
    options: list[OptionValue] = []
    client_classes: list[str] = []
    next_server: IPv4Address | None = None
    server_hostname: str | None = None
    boot_file_name: str | None = None
    extra: Extra = None

    @model_validator(mode="after")
    def _one_identifier(self) -> Reservation:
        given = [k for k in IDENTIFIERS if getattr(self, k)]
        if len(given) != 1:
            raise ValueError(
                f"give exactly one of {', '.join(IDENTIFIERS[:-1])} or {IDENTIFIERS[-1]}"
            )
        return self

    @property
    def identifier(self) -> tuple[str, str]:
        for key in IDENTIFIERS:
            value = getattr(self, key)
            if value:
                return key, normal_id(value)
        raise AssertionError("a reservation always has an identifier")


def normal_id(value: str) -> str:
    """An identifier as Kea prints it: hexadecimal bytes normalised (``normal_hex``), a quoted
    text as it is."""
    return value if value.startswith("'") else normal_hex(value)


def normal_hex(value: str) -> str:
    """``01-AA:bb`` and ``01aabb`` both become ``01:aa:bb`` (how Kea prints identifiers)."""
    raw = value.replace(":", "").replace("-", "").lower()
    return ":".join(raw[i : i + 2] for i in range(0, len(raw), 2))


class Scope(Input):
    """A Kea subnet with its pools, relay addresses, lifetimes, options and reservations."""

    subnet: IPNetwork
    id: int | None = Field(default=None, ge=1, le=4294967294)
    pools: list[Pool] = []
    pd_pools: list[PrefixPool] = []  # DHCPv6 only
    relay_addresses: list[IPAddress] = []
    shared_network: Name | None = None
    interface: str | None = Field(default=None, min_length=1, max_length=15)
    client_class: Name | None = None
    valid_lifetime: Lifetime | None = None
    min_valid_lifetime: Lifetime | None = None
    max_valid_lifetime: Lifetime | None = None
    preferred_lifetime: Lifetime | None = None
    renew_timer: Lifetime | None = None
    rebind_timer: Lifetime | None = None
    options: list[OptionValue] = []
    reservations: list[Reservation] = []
    extra: Extra = None

    @property
    def family(self) -> Family:
        return "v4" if self.subnet.version == 4 else "v6"


class SharedNetwork(Input):
    """A Kea shared network: several scopes on one link (its scopes name it)."""

    name: Name
    interface: str | None = Field(default=None, min_length=1, max_length=15)
    relay_addresses: list[IPAddress] = []
    client_class: Name | None = None
    options: list[OptionValue] = []
    extra: Extra = None


class ClientClass(Input):
    """A Kea client class: a test expression, options and (DHCPv4) BOOTP fields."""

    name: Name
    test: str = ""
    only_if_required: bool = False
    options: list[OptionValue] = []
    next_server: IPv4Address | None = None
    server_hostname: str | None = Field(default=None, max_length=64)
    boot_file_name: str | None = Field(default=None, max_length=128)
    extra: Extra = None


class ServerProperties(Input):
    """The server-wide settings of one Kea daemon; None leaves a setting as it is."""

    valid_lifetime: Lifetime | None = None
    min_valid_lifetime: Lifetime | None = None
    max_valid_lifetime: Lifetime | None = None
    preferred_lifetime: Lifetime | None = None
    renew_timer: Lifetime | None = None
    rebind_timer: Lifetime | None = None
    next_server: IPv4Address | None = None
    echo_client_id: bool | None = None
    match_client_id: bool | None = None
    decline_probation_period: Lifetime | None = None
    control_socket: str | None = Field(default=None, min_length=1, max_length=107)
    server_tag: str | None = Field(default=None, max_length=256)
    #: Where Kea looks for reservations (Kea 2.2 manual 8.3.10): the global ones are used
    #: only with ``reservations_global``.
    reservations_global: bool | None = None
    reservations_in_subnet: bool | None = None
    reservations_out_of_pool: bool | None = None
    host_reservation_identifiers: list[IdentifierKind] | None = None


#: What identifies a lease in a search (``LeaseSearch``).
LeaseKey = Literal["address", "hw_address", "client_id", "duid", "hostname"]


class LeaseSearch(Input):
    """A lease search: exactly one of its terms (the agent's ``GET .../leases/search``)."""

    address: str | None = Field(default=None, max_length=64)
    hw_address: str | None = Field(default=None, max_length=64)
    client_id: str | None = Field(default=None, max_length=400)
    duid: str | None = Field(default=None, max_length=400)
    hostname: str | None = Field(default=None, max_length=253)

    def terms(self) -> dict[str, str]:
        """The terms given, by name."""
        return {k: v for k, v in self.model_dump().items() if v}


# --- answers ------------------------------------------------------------------------------
class Lease(BaseModel):
    """One lease as Kea reports it."""

    address: str
    subnet_id: int
    hw_address: str | None = None
    client_id: str | None = None
    duid: str | None = None
    hostname: str | None = Field(default=None, description="without the trailing dot")
    valid_lifetime: int | None = None
    expires: int | None = Field(default=None, description="seconds since the epoch")
    state: int | None = Field(default=None, description="Kea's lease state (0 assigned)")
    # DHCPv6
    type: Literal["IA_NA", "IA_TA", "IA_PD"] | None = None
    prefix_len: int | None = Field(default=None, description="a delegated prefix's length")
    prefix: str | None = Field(default=None, description="a delegated prefix: address/length")
    iaid: int | None = None
    preferred_lifetime: int | None = None


class LeasePage(BaseModel):
    """A page of leases; ``next`` is the address to continue from (None: no more)."""

    leases: list[Lease]
    next: str | None = None


class PoolUsage(BaseModel):
    """Utilisation of one pool or prefix delegation pool of a scope (counted from its leases:
    Kea 2.2 keeps statistics per subnet only)."""

    kind: Literal["pool", "pd-pool"]
    index: int = Field(description="its place in the scope's pools or pd_pools")
    pool: str = Field(description="first - last address, or prefix/length for a pd-pool")
    delegated_len: int | None = None
    total: int
    assigned: int
    declined: int = 0
    utilisation: float


class ScopeUsage(BaseModel):
    """Utilisation of one scope (Kea ``stat-lease4-get`` / ``stat-lease6-get``): addresses,
    and for DHCPv6 delegated prefixes; with ``pools``, each pool's."""

    subnet_id: int
    subnet: str | None = None
    total: int
    assigned: int
    declined: int = 0
    utilisation: float
    pd_total: int | None = None
    pd_assigned: int | None = None
    pools: list[PoolUsage] | None = None


class ConfigState(BaseModel):
    """A daemon's in-memory configuration and its hash (equal hashes: same configuration)."""

    family: Family
    hash: str
    config: dict[str, Any] | None = None


class ChangeResult(BaseModel):
    """What a change did: the configuration hash before and after it."""

    family: Family
    before: str
    after: str
    changed: bool
    detail: Literal["applied", "unchanged"] = "applied"


class ScopeCreated(BaseModel):
    """A new scope as the agent made it (with its id) and the change."""

    scope: Scope
    change: ChangeResult
