"""Leases carried over from another DHCP server (an ISC dhcpd.leases import), for Central.

``POST /dhcp/v4/leases/import`` adds each lease with Kea's ``lease4-add`` and ``POST
/dhcp/v6/leases/import`` with ``lease6-add`` (lease_cmds hook, Kea manual 16.12): Kea finds
the scope by the address unless ``subnet_id`` names it (a delegated prefix needs it), and
refuses a lease whose address is in no scope or already leased; each refusal is answered with
Kea's reason and the others are added. Leases are state, not configuration: an import changes
no configuration hash.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from services.common.dhcp.contract import ClientId, Duid, HwAddress, IPAddress, IPv4Address
from services.common.model import Input
from services.dhcp.kea_client import KeaClient, KeaError, Result

#: One request's leases at most (each is one command to Kea, about a millisecond).
MAX_LEASES = 50_000


class LeaseIn(Input):
    """One lease to add: address, hardware address, lifetime and when it ends."""

    address: IPv4Address
    hw_address: HwAddress
    client_id: ClientId | None = None
    hostname: str | None = Field(default=None, max_length=253)
    valid_lifetime: int = Field(ge=1, le=2**32 - 1)
    expires: int = Field(ge=1, le=2**40, description="seconds since the epoch")
    subnet_id: int | None = Field(default=None, ge=1, le=4294967294)


class LeaseIn6(Input):
    """One DHCPv6 lease to add: an address (IA_NA) or a delegated prefix (IA_PD)."""

    address: IPAddress
    prefix_len: int = Field(default=128, ge=1, le=128)
    type: Literal["IA_NA", "IA_PD"] = "IA_NA"
    duid: Duid
    iaid: int = Field(ge=0, le=2**32 - 1)
    hw_address: HwAddress | None = None
    hostname: str | None = Field(default=None, max_length=253)
    valid_lifetime: int = Field(ge=1, le=2**32 - 1)
    preferred_lifetime: int = Field(ge=0, le=2**32 - 1)
    expires: int = Field(ge=1, le=2**40, description="seconds since the epoch")
    subnet_id: int | None = Field(default=None, ge=1, le=4294967294)


class LeaseImport(Input):
    leases: list[LeaseIn] = Field(max_length=MAX_LEASES)


class LeaseImport6(Input):
    leases: list[LeaseIn6] = Field(max_length=MAX_LEASES)


class LeaseRefused(BaseModel):
    address: str
    reason: str


class LeasesImported(BaseModel):
    """What Kea took (``added``) and what it refused, with its reason."""

    added: list[str]
    refused: list[LeaseRefused]


def add_leases(kea: KeaClient, leases: list[LeaseIn]) -> LeasesImported:
    added: list[str] = []
    refused: list[LeaseRefused] = []
    for lease in leases:
        arguments: dict[str, object] = {
            "ip-address": str(lease.address),
            "hw-address": lease.hw_address.lower().replace("-", ":"),
            "valid-lft": lease.valid_lifetime,
            "expire": lease.expires,
        }
        if lease.client_id:
            arguments["client-id"] = lease.client_id
        if lease.hostname:
            arguments["hostname"] = lease.hostname
        if lease.subnet_id:
            arguments["subnet-id"] = lease.subnet_id
        _add(kea, "lease4-add", "v4", arguments, str(lease.address), added, refused)
    return LeasesImported(added=added, refused=refused)


def add_leases6(kea: KeaClient, leases: list[LeaseIn6]) -> LeasesImported:
    added: list[str] = []
    refused: list[LeaseRefused] = []
    for lease in leases:
        arguments: dict[str, object] = {
            "ip-address": str(lease.address),
            "type": lease.type,
            "duid": lease.duid.lower().replace("-", ":"),
            "iaid": lease.iaid,
            "valid-lft": lease.valid_lifetime,
            "preferred-lft": lease.preferred_lifetime,
            "expire": lease.expires,
        }
        if lease.type == "IA_PD":
            arguments["prefix-len"] = lease.prefix_len
        if lease.hw_address:
            arguments["hw-address"] = lease.hw_address.lower().replace("-", ":")
        if lease.hostname:
            arguments["hostname"] = lease.hostname
        if lease.subnet_id:
            arguments["subnet-id"] = lease.subnet_id
        name = str(lease.address) + (f"/{lease.prefix_len}" if lease.type == "IA_PD" else "")
        _add(kea, "lease6-add", "v6", arguments, name, added, refused)
    return LeasesImported(added=added, refused=refused)


def _add(
    kea: KeaClient, command: str, family: Literal["v4", "v6"], arguments: dict[str, object],
    name: str, added: list[str], refused: list[LeaseRefused],
) -> None:  # fmt: skip
    try:
        kea.command(command, family, arguments, allow=(Result.OK,))
    except KeaError as exc:
        refused.append(LeaseRefused(address=name, reason=exc.message))
        return
    added.append(name)


def migrate_router(kea: KeaClient) -> APIRouter:
    """The lease import routes of the dhcp-agent."""
    api = APIRouter()
    v4 = APIRouter(prefix="/dhcp/v4")

    @v4.post("/leases/import")
    def import_leases(body: LeaseImport) -> LeasesImported:
        return add_leases(kea, body.leases)

    v6 = APIRouter(prefix="/dhcp/v6")

    @v6.post("/leases/import")
    def import_leases6(body: LeaseImport6) -> LeasesImported:
        return add_leases6(kea, body.leases)

    api.include_router(v4)
    api.include_router(v6)
    return api


__all__ = ["LeaseImport", "LeaseImport6", "LeaseIn", "LeaseIn6", "LeasesImported", "migrate_router"]
