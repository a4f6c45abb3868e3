"""The bodies and answers of Central's DHCP API.

Request bodies are the shared wire models of ``services.common.dhcp.contract`` plus a save
comment; like them they derive from ``services.common.model.Input``: unknown fields are
refused and nothing is coerced (``"valid_lifetime": "4000"`` is a 422 naming the field).
``to_wire`` gives the model the dhcp-agent takes. Answers are the contract's models or the
small models here, so that the OpenAPI document describes every answer.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from services.common.dhcp.contract import (
    ClientClass,
    Lease,
    OptionDef,
    OptionValue,
    Reservation,
    Scope,
    ScopeUsage,
    ServerProperties,
    SharedNetwork,
)
from services.common.dhcp.lease_input import LeaseInput
from services.common.model import Input

Comment = Annotated[str, Field(max_length=1000, description="save comment")]
W = TypeVar("W", bound=BaseModel)
T = TypeVar("T")


# --- request bodies --------------------------------------------------------------------------
class ScopeBody(Scope):
    """A scope to create or to replace (pools, relays, lifetimes, options, reservations)."""

    comment: Comment = ""


class ReservationBody(Reservation):
    """A reservation to add to a scope."""

    comment: Comment = ""


class SharedNetworkBody(SharedNetwork):
    """A shared network to create or replace."""

    comment: Comment = ""


class OptionsBody(Input):
    """The server-wide (global) options, replacing those set."""

    options: list[OptionValue]
    comment: Comment = ""


class OptionDefBody(OptionDef):
    """A custom option definition."""

    comment: Comment = ""


class ClassBody(ClientClass):
    """A client class; ``global``: on every managed DHCP server, changes replicated to all."""

    global_: bool = Field(default=False, alias="global")
    comment: Comment = ""


class PropertiesBody(ServerProperties):
    """Server properties to change (those left out stay as they are)."""

    comment: Comment = ""


class ConfigBody(Input):
    """A whole daemon configuration (``{"Dhcp4": …}``), checked by Kea's config-test first."""

    config: dict[str, Any]
    expected_hash: str | None = Field(
        default=None, max_length=64, description="refuse (409) if the server changed since"
    )
    comment: Comment = ""


def to_wire(body: BaseModel, model: type[W]) -> W:
    """``body`` as the dhcp-agent takes it (``model``): without Central's own fields
    (``comment``, ``global``), and with only the fields the caller set."""
    data = body.model_dump(exclude={"comment", "global_"}, exclude_unset=True)
    return model.model_validate(data)


# --- answers ---------------------------------------------------------------------------------
class Page(BaseModel, Generic[T]):
    """One page of a list: ``total`` counts every match, not only this page."""

    items: list[T]
    total: int
    offset: int
    limit: int


class SnapshotInfo(BaseModel):
    """Central's last snapshot of one daemon's configuration."""

    hash: str
    synced_at: dt.datetime


class DhcpServerPublic(BaseModel):
    """A DHCP server of the registry with Central's snapshots of its daemons (``v4``, ``v6``)."""

    id: int
    name: str
    address: str
    port: int
    state: str
    local: bool
    snapshots: dict[str, SnapshotInfo]


class FamilySync(BaseModel):
    """One daemon at a sync: its configuration hash and whether it changed outside Central."""

    hash: str
    changed: bool


class SyncResult(BaseModel):
    """A sync of one server: each daemon, and the global classes put back on it."""

    server_id: int
    families: dict[str, FamilySync]
    global_classes: list[str] = Field(description="FAMILY/NAME of each class put on the server")


class ClassPublic(ClientClass):
    """A client class; ``global``: Central keeps it on every managed DHCP server."""

    model_config = ConfigDict(populate_by_name=True)

    global_: bool = Field(default=False, alias="global")


class ReplicationFailure(BaseModel):
    """A server that a global class could not be put on (or deleted from), and why."""

    server_id: int
    detail: str


class ClassReplicated(ClassPublic):
    """A class put on the server asked for and, when global, on the others."""

    servers: list[int] = Field(description="the servers that have it now")
    failed: list[ReplicationFailure] = []


class ClassDeleted(BaseModel):
    """A class deleted from the server asked for and, when global, from the others."""

    name: str
    servers: list[int]
    failed: list[ReplicationFailure] = []


class LeaseBody(LeaseInput):
    """A lease to add, or the fields of a lease to change (the others keep their values)."""

    comment: Comment = ""


class LeaseListing(BaseModel):
    """Leases found by a search (``total``, ``offset``) or a page of all of them (``next``:
    the address to continue ``from``; none when there are no more)."""

    items: list[Lease]
    limit: int
    total: int | None = None
    offset: int | None = None
    next: str | None = None


class LeaseDeleted(BaseModel):
    """A lease deleted: its address is free again."""

    address: str
    deleted: bool


class UsageList(BaseModel):
    """Utilisation of every scope of a daemon."""

    items: list[ScopeUsage]
    total: int
