"""The wire models of DHCP management, shared by Central and the dhcp-agent.

A scope is a Kea subnet (``subnet4`` or ``subnet6`` entry); the family follows from its
address. Each model checks what it can check alone (a pool inside its subnet, one identifier
per reservation); what needs the whole configuration (overlapping scopes, unknown option codes)
is in ``services.common.dhcp.checks``.
"""

from __future__ import annotations

import ipaddress
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.common.dhcp.options import OPTION_TYPES, Family

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Lifetime = int  # seconds
NAME = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$"


class Strict(BaseModel):
    """Base of the wire models: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


class OptionValue(Strict):
    """One DHCP option value, given by code or by name (Kea ``option-data``)."""

    code: int | None = Field(default=None, ge=0, le=65535)
    name: str | None = Field(default=None, min_length=1, max_length=128)
    space: str | None = Field(default=None, min_length=1, max_length=128)
    data: str = ""
    csv_format: bool = True
    always_send: bool = False

    @model_validator(mode="after")
    def _code_or_name(self) -> OptionValue:
        if self.code is None and self.name is None:
            raise ValueError("give the option's code or its name")
        return self


class OptionDef(Strict):
    """A custom option definition (Kea ``option-def``), in the base or a vendor space."""

    code: int = Field(ge=1, le=65535)
    name: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")
    type: str
    array: bool = False
    space: str | None = Field(default=None, pattern=r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")
    record_types: str = ""
    encapsulate: str = ""

    @model_validator(mode="after")
    def _known_type(self) -> OptionDef:
        if self.type not in OPTION_TYPES:
            raise ValueError(f"type must be one of {', '.join(OPTION_TYPES)}")
        if self.type == "record" and not self.record_types:
            raise ValueError("a record option needs record_types")
        for kind in (t.strip() for t in self.record_types.split(",") if t.strip()):
            if kind not in OPTION_TYPES or kind in ("record", "empty"):
                raise ValueError(f"record type {kind!r} is not allowed")
        return self


class Pool(Strict):
    """An address range of a scope, optionally limited to a client class."""

    start: IPAddress
    end: IPAddress
    client_class: str | None = Field(default=None, pattern=NAME)
    options: list[OptionValue] = []

    @model_validator(mode="after")
    def _ordered(self) -> Pool:
        if self.start.version != self.end.version:
            raise ValueError("start and end must be of the same address family")
        if int(self.end) < int(self.start):
            raise ValueError(f"the pool ends ({self.end}) before it starts ({self.start})")
        return self

    def contains(self, address: IPAddress) -> bool:
        return address.version == self.start.version and self.start <= address <= self.end  # type: ignore[operator]

    def overlaps(self, other: Pool) -> bool:
        return int(self.start) <= int(other.end) and int(other.start) <= int(self.end)


class PrefixPool(Strict):
    """A DHCPv6 prefix delegation pool (Kea ``pd-pools``): ``prefix`` is cut into prefixes of
    ``delegated_len`` bits, one per requesting router (Kea manual 9.2.11)."""

    prefix: ipaddress.IPv6Network
    delegated_len: int = Field(ge=1, le=128)
    client_class: str | None = Field(default=None, pattern=NAME)
    options: list[OptionValue] = []

    @model_validator(mode="after")
    def _lengths(self) -> PrefixPool:
        if self.delegated_len < self.prefix.prefixlen:
            raise ValueError(
                f"delegated_len {self.delegated_len} is shorter than the pool's prefix "
                f"{self.prefix} (/{self.prefix.prefixlen})"
            )
        return self


class Reservation(Strict):
    """A host reservation: one identifier, the reserved address(es), hostname and options."""

    hw_address: str | None = Field(default=None, pattern=r"^([0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}$")
    client_id: str | None = Field(default=None, pattern=r"^([0-9A-Fa-f]{2}[:-]?){2,128}$")
    duid: str | None = Field(default=None, pattern=r"^([0-9A-Fa-f]{2}[:-]?){2,130}$")
    ip_addresses: list[IPAddress] = []
    hostname: str | None = Field(default=None, pattern=r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,252})$")
    options: list[OptionValue] = []
    client_classes: list[str] = []
    next_server: ipaddress.IPv4Address | None = None
    server_hostname: str | None = None
    boot_file_name: str | None = None

    @model_validator(mode="after")
    def _one_identifier(self) -> Reservation:
        given = [k for k in ("hw_address", "client_id", "duid") if getattr(self, k)]
        if len(given) != 1:
            raise ValueError("give exactly one of hw_address, client_id or duid")
        return self

    @property
    def identifier(self) -> tuple[str, str]:
        for key in ("hw_address", "client_id", "duid"):
            value = getattr(self, key)
            if value:
                return key, normal_hex(value)
        raise AssertionError("a reservation always has an identifier")


def normal_hex(value: str) -> str:
    """``01-AA:bb`` and ``01aabb`` both become ``01:aa:bb`` (how Kea prints identifiers)."""
    raw = value.replace(":", "").replace("-", "").lower()
    return ":".join(raw[i : i + 2] for i in range(0, len(raw), 2))


class Scope(Strict):
    """A Kea subnet with its pools, relay addresses, lifetimes, options and reservations."""

    subnet: IPNetwork
    id: int | None = Field(default=None, ge=1, le=4294967294)
    pools: list[Pool] = []
    pd_pools: list[PrefixPool] = []  # DHCPv6 only
    relay_addresses: list[IPAddress] = []
    shared_network: str | None = Field(default=None, pattern=NAME)
    interface: str | None = Field(default=None, min_length=1, max_length=15)
    client_class: str | None = Field(default=None, pattern=NAME)
    valid_lifetime: Lifetime | None = Field(default=None, ge=0, le=2**32 - 1)
    min_valid_lifetime: Lifetime | None = Field(default=None, ge=0, le=2**32 - 1)
    max_valid_lifetime: Lifetime | None = Field(default=None, ge=0, le=2**32 - 1)
    preferred_lifetime: Lifetime | None = Field(default=None, ge=0, le=2**32 - 1)
    renew_timer: Lifetime | None = Field(default=None, ge=0, le=2**32 - 1)
    rebind_timer: Lifetime | None = Field(default=None, ge=0, le=2**32 - 1)
    options: list[OptionValue] = []
    reservations: list[Reservation] = []

    @property
    def family(self) -> Family:
        return "v4" if self.subnet.version == 4 else "v6"


class SharedNetwork(Strict):
    """A Kea shared network: several scopes on one link (its scopes name it)."""

    name: str = Field(pattern=NAME)
    interface: str | None = Field(default=None, min_length=1, max_length=15)
    relay_addresses: list[IPAddress] = []
    client_class: str | None = Field(default=None, pattern=NAME)
    options: list[OptionValue] = []


class ClientClass(Strict):
    """A Kea client class: a test expression, options and (DHCPv4) BOOTP fields."""

    name: str = Field(pattern=NAME)
    test: str = ""
    only_if_required: bool = False
    options: list[OptionValue] = []
    next_server: ipaddress.IPv4Address | None = None
    server_hostname: str | None = Field(default=None, max_length=64)
    boot_file_name: str | None = Field(default=None, max_length=128)


class ServerProperties(Strict):
    """The server-wide settings of one Kea daemon; None leaves a setting as it is."""

    valid_lifetime: Lifetime | None = Field(default=None, ge=0, le=2**32 - 1)
    min_valid_lifetime: Lifetime | None = Field(default=None, ge=0, le=2**32 - 1)
    max_valid_lifetime: Lifetime | None = Field(default=None, ge=0, le=2**32 - 1)
    preferred_lifetime: Lifetime | None = Field(default=None, ge=0, le=2**32 - 1)
    renew_timer: Lifetime | None = Field(default=None, ge=0, le=2**32 - 1)
    rebind_timer: Lifetime | None = Field(default=None, ge=0, le=2**32 - 1)
    next_server: ipaddress.IPv4Address | None = None
    echo_client_id: bool | None = None
    match_client_id: bool | None = None
    decline_probation_period: int | None = Field(default=None, ge=0, le=2**32 - 1)
    control_socket: str | None = Field(default=None, min_length=1, max_length=107)
    server_tag: str | None = Field(default=None, max_length=256)


class Lease(BaseModel):
    """One lease as Kea reports it."""

    address: str
    subnet_id: int
    hw_address: str | None = None
    client_id: str | None = None
    duid: str | None = None
    hostname: str | None = None
    valid_lifetime: int | None = None
    expires: int | None = None
    state: int | None = None


class LeasePage(BaseModel):
    """A page of leases; ``next`` is the address to continue from (None: no more)."""

    leases: list[Lease]
    next: str | None = None


class ScopeUsage(BaseModel):
    """Utilisation of one scope (Kea ``stat-lease4-get`` / ``stat-lease6-get``)."""

    subnet_id: int
    subnet: str | None = None
    total: int
    assigned: int
    declined: int = 0
    utilisation: float


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
