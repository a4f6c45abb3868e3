"""Leases carried over from another DHCP server (an ISC dhcpd.leases import), for Central.

``POST /dhcp/v4/leases/import`` adds each lease with Kea's ``lease4-add`` and ``POST
/dhcp/v6/leases/import`` with ``lease6-add`` (lease_cmds hook, Kea manual 16.12): Kea finds
the scope by the address unless ``subnet_id`` names it (a delegated prefix needs it), and
refuses a lease whose address is in no scope or already leased; each refusal is answered with
Kea's reason and the others are added. Leases are state, not configuration: an import changes
no configuration hash. The leases go to Kea as ``LeaseBook`` adds one (``carry_over``), with
when each ends.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from services.common.dhcp.contract import ClientId, Duid, HwAddress, IPAddress, IPv4Address
from services.common.dhcp.lease_input import LeaseInput
from services.common.dhcp.options import Family
from services.common.model import Input
from services.dhcp.leases import LeaseBook

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

    @property
    def name(self) -> str:
        """How an import's answer names the lease: its address."""
        return str(self.address)

    def as_input(self) -> LeaseInput:
        return LeaseInput.model_construct(
            address=self.name, hw_address=self.hw_address, client_id=self.client_id,
            hostname=self.hostname, valid_lifetime=self.valid_lifetime, subnet_id=self.subnet_id,
        )  # fmt: skip


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

    @property
    def name(self) -> str:
        """How an import's answer names the lease: its address, a prefix with its length."""
        return f"{self.address}/{self.prefix_len}" if self.type == "IA_PD" else str(self.address)

    def as_input(self) -> LeaseInput:
        # built, not validated again: a preferred lifetime of 0 (a deprecated address) is
        # an imported lease's, not one a person adds
        return LeaseInput.model_construct(
            address=str(self.address), type=self.type, duid=self.duid, iaid=self.iaid,
            prefix_len=self.prefix_len if self.type == "IA_PD" else None,
            hw_address=self.hw_address, hostname=self.hostname,
            valid_lifetime=self.valid_lifetime, preferred_lifetime=self.preferred_lifetime,
            subnet_id=self.subnet_id,
        )  # fmt: skip


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


def add_leases(
    book: LeaseBook, family: Family, leases: Sequence[LeaseIn] | Sequence[LeaseIn6]
) -> LeasesImported:
    added: list[str] = []
    refused: list[LeaseRefused] = []
    for lease in leases:
        reason = book.carry_over(family, lease.as_input(), lease.expires)
        if reason is None:
            added.append(lease.name)
        else:
            refused.append(LeaseRefused(address=lease.name, reason=reason))
    return LeasesImported(added=added, refused=refused)


def migrate_router(book: LeaseBook) -> APIRouter:
    """The lease import routes of the dhcp-agent."""
    api = APIRouter()
    v4 = APIRouter(prefix="/dhcp/v4")

    @v4.post("/leases/import")
    def import_leases(body: LeaseImport) -> LeasesImported:
        return add_leases(book, "v4", body.leases)

    v6 = APIRouter(prefix="/dhcp/v6")

    @v6.post("/leases/import")
    def import_leases6(body: LeaseImport6) -> LeasesImported:
        return add_leases(book, "v6", body.leases)

    api.include_router(v4)
    api.include_router(v6)
    return api


__all__ = ["LeaseImport", "LeaseImport6", "LeaseIn", "LeaseIn6", "LeasesImported", "migrate_router"]
