"""Leases carried over from another DHCP server (an ISC dhcpd.leases import), for Central.

``POST /dhcp/v4/leases/import`` adds each lease with Kea's ``lease4-add`` (lease_cmds hook,
Kea manual 16.12): Kea finds the scope by the address, and refuses a lease whose address is
in no scope or already leased; each refusal is answered with Kea's reason and the others are
added. Leases are state, not configuration: an import changes no configuration hash.
"""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from services.common.dhcp.contract import ClientId, HwAddress, IPv4Address
from services.common.model import Input
from services.dhcp.kea_client import KeaClient, KeaError, Result
from services.dhcp.refusals import plain

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


class LeaseImport(Input):
    leases: list[LeaseIn] = Field(max_length=MAX_LEASES)


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
        try:
            kea.command("lease4-add", "v4", arguments, allow=(Result.OK,))
        except KeaError as exc:
            refused.append(LeaseRefused(address=str(lease.address), reason=exc.message))
            continue
        added.append(str(lease.address))
    return LeasesImported(added=added, refused=refused)


def migrate_router(kea: KeaClient) -> APIRouter:
    """The lease import route of the dhcp-agent (DHCPv4)."""
    api = APIRouter(prefix="/dhcp/v4")

    @api.post("/leases/import")
    def import_leases(body: LeaseImport) -> LeasesImported:
        return add_leases(kea, body.leases)

    return api


__all__ = ["LeaseImport", "LeaseIn", "LeasesImported", "migrate_router", "plain"]
