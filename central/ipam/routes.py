"""``/api/v1/ipam``: the address space (blocks and ranges), custom properties, claims, next
free address and block, the address view of a range and its utilisation.

Administrators and IPAM administrators change; every role reads. Every change is in the
history (``ipam-block``, ``ipam-range``, ``ipam-property``, ``ipam-claim``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from sqlalchemy import select

from central.core.config import CentralConfig
from central.core.deps import CurrentUser, DbSession, DeleteComment, Principal, Role, require
from central.core.listing import ListQuery, Page, page
from central.core.problems import RESPONSES
from central.ipam import addresses as ad
from central.ipam import discovery, reverse, service, usage
from central.ipam.models import IpamBlock, IpamClaim, IpamProperty, IpamRange
from central.ipam.schemas import (
    AddressPage,
    AddressPublic,
    BlockBody,
    BlockChange,
    BlockPublic,
    ClaimBody,
    ClaimPublic,
    FreeBlock,
    NextFree,
    NextFreeBody,
    PropertyBody,
    PropertyChange,
    PropertyPublic,
    RangeBody,
    RangeChange,
    RangePublic,
    Tree,
    TreeNode,
    Utilisation,
)
from services.common import problems
from services.common.errors import ValidationError

router = APIRouter(
    prefix="/api/v1/ipam",
    tags=["ipam"],
    responses={
        **RESPONSES,
        409: problems.documented(
            "The change clashes with what exists (an address claimed already, a block that "
            "still holds blocks or ranges); nothing was changed"
        ),
    },
)

IpamAdmin = Annotated[Principal, Depends(require(Role.IPAM_ADMIN))]
ObjectId = Annotated[int, Path(ge=1, le=2**31 - 1)]
PropertyName = Annotated[str, Path(max_length=64)]
Address = Annotated[str, Path(max_length=64)]

BLOCK_FIELDS = {"id": IpamBlock.id, "parent_id": IpamBlock.parent_id, "family": IpamBlock.family,
                "prefix": IpamBlock.prefix, "name": IpamBlock.name,
                "description": IpamBlock.description, "first": IpamBlock.first_key}  # fmt: skip
RANGE_FIELDS = {"id": IpamRange.id, "block_id": IpamRange.block_id, "family": IpamRange.family,
                "start": IpamRange.start, "end": IpamRange.end, "name": IpamRange.name,
                "description": IpamRange.description, "first": IpamRange.first_key}  # fmt: skip
CLAIM_FIELDS = {"id": IpamClaim.id, "address": IpamClaim.address, "owner": IpamClaim.owner,
                "comment": IpamClaim.comment, "claimed_by": IpamClaim.claimed_by,
                "created_at": IpamClaim.created_at, "first": IpamClaim.key}  # fmt: skip
PROPERTY_FIELDS = {"id": IpamProperty.id, "name": IpamProperty.name, "kind": IpamProperty.kind,
                   "description": IpamProperty.description}  # fmt: skip


def _config(request: Request) -> CentralConfig:
    config: CentralConfig = request.app.state.config
    return config


Config = Annotated[CentralConfig, Depends(_config)]


# --- the tree ----------------------------------------------------------------------------------
@router.get("/tree")
def tree(db: DbSession, _user: CurrentUser) -> Tree:
    """The whole address space: blocks nested in their parents, ranges in their blocks, each
    level in address order."""
    blocks = list(db.scalars(select(IpamBlock).order_by(IpamBlock.family, IpamBlock.first_key)))
    ranges = list(db.scalars(select(IpamRange).order_by(IpamRange.family, IpamRange.first_key)))
    nodes = {b.id: TreeNode(block=BlockPublic.model_validate(b), blocks=[], ranges=[])
             for b in blocks}  # fmt: skip
    top = Tree(blocks=[], ranges=[])
    for block in blocks:
        parent = nodes.get(block.parent_id) if block.parent_id is not None else None
        (parent.blocks if parent is not None else top.blocks).append(nodes[block.id])
    for rng in ranges:
        holder = nodes.get(rng.block_id) if rng.block_id is not None else None
        (holder.ranges if holder is not None else top.ranges).append(
            RangePublic.model_validate(rng)
        )
    return top


# --- blocks ------------------------------------------------------------------------------------
@router.get("/blocks")
def list_blocks(db: DbSession, _user: CurrentUser, params: ListQuery) -> Page[BlockPublic]:
    """Blocks; filter e.g. ``parent_id:3``, ``family:6`` or ``prefix~10.1``; ``sort=first``
    is address order."""
    rows, total = page(db, select(IpamBlock), params, BLOCK_FIELDS, ("prefix", "name"))
    return Page[BlockPublic].of([BlockPublic.model_validate(r) for r in rows], total, params)


@router.post("/blocks", status_code=201)
def create_block(db: DbSession, user: IpamAdmin, body: BlockBody) -> BlockPublic:
    """Make a block inside ``parent_id`` (or at the top): it must lie inside its parent and
    overlap none of its siblings (422 naming ``prefix``)."""
    return BlockPublic.model_validate(service.create_block(db, user, body))


@router.get("/blocks/{block_id}")
def get_block(db: DbSession, _user: CurrentUser, block_id: ObjectId) -> BlockPublic:
    return BlockPublic.model_validate(service.get_block(db, block_id))


@router.patch("/blocks/{block_id}")
def change_block(
    db: DbSession, user: IpamAdmin, block_id: ObjectId, body: BlockChange
) -> BlockPublic:
    """Change a block's prefix (it must still hold its children), name, description or
    properties (merged; ``null`` removes one)."""
    block = service.get_block(db, block_id)
    return BlockPublic.model_validate(service.change_block(db, user, block, body))


@router.delete("/blocks/{block_id}", status_code=204)
def delete_block(
    db: DbSession, user: IpamAdmin, block_id: ObjectId, comment: DeleteComment
) -> None:
    """Delete an empty block (409 while it holds blocks or ranges)."""
    service.delete_block(db, user, service.get_block(db, block_id), comment)


@router.get("/blocks/{block_id}/next-free-block")
def next_free_block(
    db: DbSession, _user: CurrentUser, block_id: ObjectId,
    prefix_length: Annotated[int | None, Query(ge=0, le=128)] = None,
) -> FreeBlock:  # fmt: skip
    """The lowest prefix of ``prefix_length`` (default /24 for IPv4, /64 for IPv6) inside the
    block that overlaps none of its child blocks and ranges (``prefix`` none when none is)."""
    block = service.get_block(db, block_id)
    length = prefix_length if prefix_length is not None else (24 if block.family == 4 else 64)
    found = service.next_free_block(db, block, length)
    return FreeBlock(block_id=block.id, prefix=ad.prefix_text(found) if found else None)


# --- ranges ------------------------------------------------------------------------------------
@router.get("/ranges")
def list_ranges(db: DbSession, _user: CurrentUser, params: ListQuery) -> Page[RangePublic]:
    """Ranges; filter e.g. ``block_id:3`` or ``name~lab``; ``sort=first`` is address order."""
    rows, total = page(db, select(IpamRange), params, RANGE_FIELDS, ("start", "end", "name"))
    return Page[RangePublic].of([RangePublic.model_validate(r) for r in rows], total, params)


@router.post("/ranges", status_code=201)
def create_range(db: DbSession, user: IpamAdmin, body: RangeBody) -> RangePublic:
    """Make a range ``start``-``end`` inside ``block_id`` (or at the top): inside its block,
    overlapping none of its siblings (422 naming ``start``)."""
    return RangePublic.model_validate(service.create_range(db, user, body))


@router.get("/ranges/{range_id}")
def get_range(db: DbSession, _user: CurrentUser, range_id: ObjectId) -> RangePublic:
    return RangePublic.model_validate(service.get_range(db, range_id))


@router.patch("/ranges/{range_id}")
def change_range(
    db: DbSession, user: IpamAdmin, range_id: ObjectId, body: RangeChange
) -> RangePublic:
    """Change a range's ends (its claims must stay inside), name, description or properties."""
    rng = service.get_range(db, range_id)
    return RangePublic.model_validate(service.change_range(db, user, rng, body))


@router.delete("/ranges/{range_id}", status_code=204)
def delete_range(
    db: DbSession, user: IpamAdmin, range_id: ObjectId, comment: DeleteComment
) -> None:
    """Delete a range without claims (409 while it has some)."""
    service.delete_range(db, user, service.get_range(db, range_id), comment)


@router.get("/ranges/{range_id}/utilisation")
def range_utilisation(
    db: DbSession, config: Config, _user: CurrentUser, range_id: ObjectId
) -> Utilisation:
    """Used addresses of the range over every source (claims, DNS, reservations, leases)."""
    rng = service.get_range(db, range_id)
    return Utilisation.model_validate(usage.utilisation(db, config, rng))


@router.get("/ranges/{range_id}/addresses")
def range_addresses(
    db: DbSession, config: Config, _user: CurrentUser, range_id: ObjectId,
    offset: Annotated[int, Query(ge=0, le=2**31)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    problems_only: Annotated[bool, Query(alias="problems")] = False,
    first: Annotated[str | None, Query(max_length=64, description="from this address")] = None,
    last: Annotated[str | None, Query(max_length=64, description="to this address")] = None,
) -> AddressPage:  # fmt: skip
    """Every used address of the range in address order with all its sources and where they
    disagree; ``problems=true`` keeps only the addresses with a disagreement. ``first`` and
    ``last`` (addresses of the range) look at that stretch alone: each source is read for it
    only, so one page of a big range costs what its stretch holds."""
    rng = service.get_range(db, range_id)
    within = None
    if first is not None or last is not None:
        span = service.range_span(rng)
        low = service.range_address(rng, first, "first") if first is not None else span.first
        high = service.range_address(rng, last, "last") if last is not None else span.last
        if high < low:
            raise ValidationError(f"last {last} comes before first {first}", field="last")
        within = ad.Span(rng.family, low, high)
    items, total, warnings = usage.addresses(db, config, rng, offset, limit,
                                             only_problems=problems_only,
                                             within=within)  # fmt: skip
    return AddressPage(
        items=[AddressPublic(address=a, sources=s, problems=p) for a, s, p in items],
        total=total, offset=offset, limit=limit, warnings=warnings,
    )  # fmt: skip


# --- claims and next free ----------------------------------------------------------------------
@router.get("/ranges/{range_id}/claims")
def list_claims(
    db: DbSession, _user: CurrentUser, range_id: ObjectId, params: ListQuery
) -> Page[ClaimPublic]:
    """Claims of the range; filter e.g. ``owner:build-42``; ``sort=first`` is address order."""
    service.get_range(db, range_id)
    query = select(IpamClaim).where(IpamClaim.range_id == range_id)
    rows, total = page(db, query, params, CLAIM_FIELDS, ("address", "owner", "comment"), "first")
    return Page[ClaimPublic].of([ClaimPublic.model_validate(r) for r in rows], total, params)


@router.post("/ranges/{range_id}/claims", status_code=201)
def claim(db: DbSession, user: IpamAdmin, range_id: ObjectId, body: ClaimBody) -> ClaimPublic:
    """Claim an address of the range (409 when claimed already)."""
    rng = service.get_range(db, range_id)
    made = service.claim(db, user, rng, body.address, body.owner, body.comment)
    return ClaimPublic.model_validate(made)


@router.get("/ranges/{range_id}/claims/{address}")
def get_claim(
    db: DbSession, _user: CurrentUser, range_id: ObjectId, address: Address
) -> ClaimPublic:
    return ClaimPublic.model_validate(service.find_claim(db, service.get_range(db, range_id),
                                                         address))  # fmt: skip


@router.delete("/ranges/{range_id}/claims/{address}", status_code=204)
def release(
    db: DbSession, user: IpamAdmin, range_id: ObjectId, address: Address, comment: DeleteComment
) -> None:
    """Release a claimed address."""
    service.release(db, user, service.get_range(db, range_id), address, comment)


FromAddress = Annotated[
    str | None, Query(alias="from", max_length=64, description="look from this address on")
]


Ping = Annotated[bool, Query(description="ping each candidate first and pass over those "
                                        "that answer (IPv4)")]  # fmt: skip
PingTimeout = Annotated[float, Query(ge=0.05, le=5, description="seconds to wait for a reply")]


def _start(rng: IpamRange, start: str | None) -> int | None:
    return service.range_address(rng, start, "from") if start is not None else None


def _ping(db: DbSession, rng: IpamRange, ping: bool, timeout: float) -> discovery.PingCheck | None:
    return discovery.PingCheck(db, rng.family, timeout) if ping else None


@router.get("/ranges/{range_id}/next-free-address")
def next_free_address(
    db: DbSession, config: Config, _user: CurrentUser, range_id: ObjectId,
    start: FromAddress = None, ping: Ping = False, ping_timeout: PingTimeout = 0.5,
) -> NextFree:  # fmt: skip
    """The lowest address of the range that no claim, A/AAAA or PTR record, reservation,
    lease or discovery uses (``address`` none when the range is full); with ``ping=true``,
    that does not answer a ping either. Nothing is held: to hold it, POST with
    ``claim=true``."""
    rng = service.get_range(db, range_id)
    check = _ping(db, rng, ping, ping_timeout)
    found, warnings = usage.next_free(db, config, rng, _start(rng, start), alive=check)
    address = ad.text(rng.family, found) if found is not None else None
    return NextFree(range_id=rng.id, address=address, claimed=False, warnings=warnings,
                    skipped=check.skipped if check else [])  # fmt: skip


@router.post("/ranges/{range_id}/next-free-address")
def claim_next_free_address(
    db: DbSession, config: Config, user: IpamAdmin, range_id: ObjectId,
    claim: Annotated[bool, Query(description="must be true: claim the address found")],
    body: NextFreeBody | None = None, start: FromAddress = None, ping: Ping = False,
    ping_timeout: PingTimeout = 0.5,
) -> NextFree:  # fmt: skip
    """Find the lowest free address and claim it in one step: concurrent callers each get
    another address (``address`` none when the range is full). With ``ping=true`` (or
    ``"ping": true`` in the body) each candidate is pinged first: one that answers is kept as
    discovered, listed in ``skipped`` and passed over."""
    if not claim:
        raise ValidationError("POST claims the address: give claim=true (GET only looks)",
                              field="claim")  # fmt: skip
    rng = service.get_range(db, range_id)
    given = body or NextFreeBody()
    check = _ping(db, rng, ping or given.ping, ping_timeout)
    made, warnings = usage.claim_next_free(db, config, user, rng, given.owner, given.comment,
                                           _start(rng, start), alive=check)  # fmt: skip
    return NextFree(
        range_id=range_id, address=made.address if made else None, claimed=made is not None,
        claim=ClaimPublic.model_validate(made) if made else None, warnings=warnings,
        skipped=check.skipped if check else [],
    )  # fmt: skip


# --- reverse zones -----------------------------------------------------------------------------
@router.post("/ranges/{range_id}/reverse-zones")
def make_reverse_zones(
    db: DbSession, config: Config, user: IpamAdmin, range_id: ObjectId,
    body: reverse.ReverseRequest | None = None,
) -> reverse.ReverseResult:  # fmt: skip
    """Make the reverse zones (/24, /64) that hold the range on a DNS server, and the PTR
    records of the A/AAAA records of that server's zones in the range, in one action."""
    rng = service.get_range(db, range_id)
    return reverse.make_reverse(db, config, user, rng, body or reverse.ReverseRequest())


# --- discovery ---------------------------------------------------------------------------------
@router.post("/ranges/{range_id}/sweep")
def sweep_range(
    db: DbSession, user: IpamAdmin, range_id: ObjectId,
    body: discovery.SweepRequest | None = None,
) -> discovery.DiscoveryResult:  # fmt: skip
    """Ping every address of an IPv4 range (at most 4,096) from the appliance at ``rate``
    requests a second; what answers is kept as discovered (``discovered`` sources)."""
    rng = service.get_range(db, range_id)
    return discovery.sweep_range(db, user, rng, body or discovery.SweepRequest())


@router.post("/discovery/router")
def read_router(
    db: DbSession, user: IpamAdmin, body: discovery.RouterRequest
) -> discovery.DiscoveryResult:
    """Read a router's ARP and IPv6 neighbour table over SNMP with the profile given (v1,
    v2c, or v3 authPriv; used once, kept nowhere); its addresses and MAC addresses are kept
    as discovered."""
    return discovery.read_router(db, user, body)


# --- properties --------------------------------------------------------------------------------
@router.get("/properties")
def list_properties(db: DbSession, _user: CurrentUser, params: ListQuery) -> Page[PropertyPublic]:
    """Custom property definitions; filter e.g. ``kind:choice``."""
    rows, total = page(db, select(IpamProperty), params, PROPERTY_FIELDS, ("name", "description"),
                       "name")  # fmt: skip
    return Page[PropertyPublic].of([PropertyPublic.model_validate(r) for r in rows], total, params)


@router.post("/properties", status_code=201)
def create_property(db: DbSession, user: IpamAdmin, body: PropertyBody) -> PropertyPublic:
    """Define a property (``text``, ``number``, ``boolean``, or ``choice`` with its choices)."""
    return PropertyPublic.model_validate(service.create_property(db, user, body))


@router.get("/properties/{property_name}")
def get_property(db: DbSession, _user: CurrentUser, property_name: PropertyName) -> PropertyPublic:
    return PropertyPublic.model_validate(service.get_property(db, property_name))


@router.patch("/properties/{property_name}")
def change_property(
    db: DbSession, user: IpamAdmin, property_name: PropertyName, body: PropertyChange
) -> PropertyPublic:
    """Change a property's description or choices (a value in use must stay offered)."""
    prop = service.get_property(db, property_name)
    return PropertyPublic.model_validate(service.change_property(db, user, prop, body))


@router.delete("/properties/{property_name}", status_code=204)
def delete_property(
    db: DbSession, user: IpamAdmin, property_name: PropertyName, comment: DeleteComment
) -> None:
    """Delete a property no block or range sets (409 otherwise)."""
    service.delete_property(db, user, service.get_property(db, property_name), comment)
