"""The appliance's own settings (``etc/burrow/appliance.json``): identity, network, first start.

These are what an administrator gives at first boot (console, kernel command line or
cloud-init) or what the sandbox writes. Everything else is derived from them.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from services.common.errors import ValidationError
from services.common.files import read_json, write_json
from services.common.network import (
    MAX_EXTRA_ADDRESSES,
    MAX_ROUTES,
    AnyInterface,
    NetworkSettings,
    StaticRoute,
    check,
)

HOSTNAME_LABEL = r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$"


class SeedZone(BaseModel):
    """The zone a new appliance serves from its first start, so that DNS answers at once."""

    model_config = ConfigDict(extra="forbid")
    name: str = "burrow.example."
    ttl: int = Field(default=3600, ge=0, le=2147483647)


class SeedSubnet4(BaseModel):
    """The DHCPv4 subnet a new appliance serves from its first start."""

    model_config = ConfigDict(extra="forbid")
    subnet: ipaddress.IPv4Network
    pool_start: ipaddress.IPv4Address
    pool_end: ipaddress.IPv4Address
    routers: list[ipaddress.IPv4Address] = []


class SeedSubnet6(BaseModel):
    """The DHCPv6 subnet a new appliance serves from its first start."""

    model_config = ConfigDict(extra="forbid")
    subnet: ipaddress.IPv6Network
    pool_start: ipaddress.IPv6Address
    pool_end: ipaddress.IPv6Address


class BackupPeerSeed(BaseModel):
    """First boot: pair with this peer Central at the first start (issue 7)."""

    model_config = ConfigDict(extra="forbid")
    address: ipaddress.IPv4Address
    port: int = Field(default=1231, ge=1, le=65535)
    token: str = Field(min_length=1, max_length=256)
    fingerprint: str = Field(min_length=64, max_length=200)


class RestoreFromSeed(BaseModel):
    """First boot: the peer Central expected to push a restore (its certificate fingerprint)."""

    model_config = ConfigDict(extra="forbid")
    address: ipaddress.IPv4Address
    fingerprint: str = Field(min_length=64, max_length=200)


class ApplianceSettings(BaseModel):
    """Identity and network of one appliance."""

    model_config = ConfigDict(extra="forbid")
    hostname: str = Field(default="burrow", pattern=HOSTNAME_LABEL)
    interface: str = Field(default="eth0", min_length=1, max_length=15)
    address: ipaddress.IPv4Interface
    address6: ipaddress.IPv6Interface | None = None
    gateway: ipaddress.IPv4Address | None = None
    resolvers: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = []
    dhcp_interfaces: list[str] = []
    seed_zone: SeedZone | None = SeedZone()
    seed_subnet4: SeedSubnet4 | None = None
    seed_subnet6: SeedSubnet6 | None = None
    backup_peer: BackupPeerSeed | None = None
    restore_from: RestoreFromSeed | None = None
    #: Addresses and static routes an administrator added (services.common.network).
    extra_addresses: list[AnyInterface] = Field(default=[], max_length=MAX_EXTRA_ADDRESSES)
    routes: list[StaticRoute] = Field(default=[], max_length=MAX_ROUTES)

    @model_validator(mode="after")
    def _network_consistent(self) -> ApplianceSettings:
        if self.extra_addresses or self.routes:
            try:
                check(self.network())
            except ValidationError as exc:
                raise ValueError(f"{exc.field}: {exc.message}") from exc
        return self

    def network(self) -> NetworkSettings:
        """The network part of these settings (services.common.network)."""
        return NetworkSettings(
            interface=self.interface,
            hostname=self.hostname,
            address=self.address,
            address6=self.address6,
            extra_addresses=self.extra_addresses,
            routes=self.routes,
            resolvers=self.resolvers,
        )

    @field_validator("dhcp_interfaces")
    @classmethod
    def _short_names(cls, value: list[str]) -> list[str]:
        for name in value:
            if not 0 < len(name) <= 15:
                raise ValueError(f"interface name {name!r} must be 1 to 15 characters")
        return value

    @property
    def ip(self) -> str:
        return str(self.address.ip)

    @classmethod
    def load(cls, path: Path) -> ApplianceSettings:
        return cls.model_validate(read_json(path))

    def save(self, path: Path) -> None:
        write_json(path, self.model_dump(mode="json"), mode=0o600)
