"""The bodies and answers of Central's IPAM API.

Bodies derive from ``services.common.model.Input``: unknown fields are refused and nothing is
coerced. Addresses and prefixes come as text and are checked by the service, which names the
field (``prefix``, ``start``, ``properties.site``) in the one problem format.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from services.common.model import Input

Comment = Annotated[str, Field(max_length=1000, description="save comment")]
Name = Annotated[str, Field(max_length=128)]
Description = Annotated[str, Field(max_length=2000)]
PropertyName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]{0,63}$")]
PropertyKind = Literal["text", "number", "boolean", "choice"]
#: Values of custom properties by name; ``null`` in a change removes one.
PropertyValues = dict[str, str | int | float | bool | None]


# --- blocks ------------------------------------------------------------------------------------
class BlockBody(Input):
    """A block to make: a prefix, inside ``parent_id`` (none: at the top of the tree)."""

    prefix: str = Field(max_length=64, description="e.g. 10.0.0.0/8 or 2001:db8::/32")
    parent_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    name: Name = ""
    description: Description = ""
    properties: PropertyValues = {}
    comment: Comment = ""


class BlockChange(Input):
    """Fields of a block to change; the others keep their values. ``properties`` are merged
    (``null`` removes one)."""

    prefix: str | None = Field(default=None, max_length=64)
    name: Name | None = None
    description: Description | None = None
    properties: PropertyValues | None = None
    comment: Comment = ""


class BlockPublic(BaseModel):
    """A block as the API shows it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    parent_id: int | None
    family: int = Field(description="4 or 6")
    prefix: str
    name: str
    description: str
    properties: dict[str, Any]
    created_at: dt.datetime
    updated_at: dt.datetime


class FreeBlock(BaseModel):
    """The lowest free prefix of a length in a block (no child block or range overlaps it)."""

    block_id: int
    prefix: str | None = Field(description="none: no prefix of that length is free")


# --- ranges ------------------------------------------------------------------------------------
class RangeBody(Input):
    """A range to make: ``start`` to ``end`` inside the block ``block_id`` (none: at the top)."""

    start: str = Field(max_length=64)
    end: str = Field(max_length=64)
    block_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    name: Name = ""
    description: Description = ""
    properties: PropertyValues = {}
    comment: Comment = ""


class RangeChange(Input):
    """Fields of a range to change; ``properties`` are merged (``null`` removes one)."""

    start: str | None = Field(default=None, max_length=64)
    end: str | None = Field(default=None, max_length=64)
    name: Name | None = None
    description: Description | None = None
    properties: PropertyValues | None = None
    comment: Comment = ""


class RangePublic(BaseModel):
    """A range as the API shows it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    block_id: int | None
    family: int = Field(description="4 or 6")
    start: str
    end: str
    name: str
    description: str
    properties: dict[str, Any]
    created_at: dt.datetime
    updated_at: dt.datetime


class Utilisation(BaseModel):
    """How much of a range is used, counted over every source (an address used by several
    counts once)."""

    range_id: int
    size: int
    used: int
    free: int
    percent: float
    by_source: dict[str, int] = Field(description="addresses per source: claim, a, ptr, ...")
    warnings: list[str] = Field(description="sources that could not be read (a DHCP agent)")


class TreeNode(BaseModel):
    """A block with its child blocks and ranges."""

    block: BlockPublic
    blocks: list[TreeNode]
    ranges: list[RangePublic]


class Tree(BaseModel):
    """The whole address space: top-level blocks (nested) and top-level ranges."""

    blocks: list[TreeNode]
    ranges: list[RangePublic]


# --- properties --------------------------------------------------------------------------------
class PropertyBody(Input):
    """A custom property definition."""

    name: PropertyName
    kind: PropertyKind
    choices: list[Annotated[str, Field(min_length=1, max_length=128)]] = Field(
        default=[], max_length=200, description="the allowed values of a choice"
    )
    description: Description = ""
    comment: Comment = ""


class PropertyChange(Input):
    """A property definition's description or choices (its kind stays)."""

    choices: list[Annotated[str, Field(min_length=1, max_length=128)]] | None = Field(
        default=None, max_length=200
    )
    description: Description | None = None
    comment: Comment = ""


class PropertyPublic(BaseModel):
    """A custom property definition as the API shows it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    kind: str
    choices: list[str]
    description: str
    created_at: dt.datetime


# --- claims and addresses ----------------------------------------------------------------------
class ClaimBody(Input):
    """An address to claim in a range, and who holds it."""

    address: str = Field(max_length=64)
    owner: str = Field(default="", max_length=128)
    comment: Comment = ""


class NextFreeBody(Input):
    """Who holds the address that next-free claims."""

    owner: str = Field(default="", max_length=128)
    comment: Comment = ""
    ping: bool = Field(default=False, description="as ?ping=true: ping each candidate first")


class ClaimPublic(BaseModel):
    """A claimed address."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    range_id: int
    address: str
    owner: str
    comment: str
    claimed_by: str
    created_at: dt.datetime


class NextFree(BaseModel):
    """The lowest free address of a range, claimed or not."""

    range_id: int
    address: str | None = Field(description="none: the range is full")
    claimed: bool
    claim: ClaimPublic | None = None
    warnings: list[str] = Field(description="sources that could not be read (a DHCP agent)")
    skipped: list[str] = Field(
        default=[], description="ping=true: free addresses that answered a ping, passed over "
        "and kept as discovered"
    )  # fmt: skip


class Source(BaseModel):
    """One thing that uses an address."""

    kind: Literal["claim", "a", "aaaa", "ptr", "reservation", "lease", "discovered"]
    name: str | None = Field(default=None, description="the record's owner name or hostname")
    data: str | None = Field(default=None, description="a PTR's target")
    zone_id: int | None = None
    server_id: int | None = None
    scope_id: int | None = None
    owner: str | None = None
    hw_address: str | None = None
    client_id: str | None = None
    duid: str | None = None
    expires: int | None = None
    seen_by: str | None = Field(default=None, description="discovered: ping, or snmp ROUTER")
    last_seen: dt.datetime | None = Field(default=None, description="discovered: last seen")


class AddressPublic(BaseModel):
    """One used address of a range: every source, and where they disagree."""

    address: str
    sources: list[Source]
    problems: list[str] = Field(
        description="a-without-ptr, ptr-without-a, ptr-mismatch, lease-on-reserved"
    )


class AddressPage(BaseModel):
    """One page of a range's used addresses in address order."""

    items: list[AddressPublic]
    total: int = Field(description="used addresses (or disagreements) in the range")
    offset: int
    limit: int
    warnings: list[str]


TreeNode.model_rebuild()
