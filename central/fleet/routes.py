"""``/api/v1/fleet``: join codes and members on the managing Central, the membership on a
joined appliance's Central (docs/fleet.md)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel

from central.core.deps import Admin, CurrentUser, DbSession, DeleteComment
from central.core.problems import RESPONSES
from central.fleet import seed, service
from central.fleet.service import (
    JoinCodeRequest,
    JoinRequest,
    LeaveRequest,
    MemberLeave,
    RedeemRequest,
    Release,
)

router = APIRouter(prefix="/api/v1/fleet", tags=["fleet"], responses=RESPONSES)

MemberId = Annotated[int, Path(ge=1, le=2**31 - 1)]


class FleetCa(BaseModel):
    certificate: str
    fingerprint: str


class JoinCode(BaseModel):
    id: int
    code: str
    expires_at: str
    central_address: str
    central_port: int
    ca_fingerprint: str


class MemberServer(BaseModel):
    id: int
    kind: str
    name: str
    state: str
    last_seen: str | None


class Member(BaseModel):
    id: int
    name: str
    address: str
    joined_at: str
    servers: list[MemberServer]


class MemberPage(BaseModel):
    items: list[Member]
    total: int


class Redeemed(BaseModel):
    member_id: int
    secret: str
    ca_certificate: str
    crl: str
    certificates: dict[str, str]
    server_ids: dict[str, int]


class SeedJoin(BaseModel):
    """The first boot's join (central.fleet.seed): never the code."""

    state: str
    address: str
    port: int | str
    attempts: int
    last_error: str | None = None
    next_attempt_at: str | None = None
    updated_at: str | None = None


class Membership(BaseModel):
    joined: bool
    address: str | None = None
    port: int | None = None
    ca_fingerprint: str | None = None
    member_id: int | None = None
    server_ids: dict[str, int] | None = None
    joined_at: str | None = None
    #: The join asked for by the first-boot seed, while and after it is tried.
    seed_join: SeedJoin | None = None


# --- the managing Central ------------------------------------------------------------------
@router.get("/ca")
def fleet_ca(request: Request) -> FleetCa:
    """Open to everyone: this Central's CA certificate and its SHA-256 fingerprint (a joining
    appliance compares it with the fingerprint its administrator was given)."""
    return FleetCa.model_validate(service.ca_certificate(request.app.state.config))


@router.post("/joins", status_code=201)
def create_join_code(
    request: Request, db: DbSession, admin: Admin, body: JoinCodeRequest
) -> JoinCode:
    """Add an appliance: a one-time join code (shown once, stored hashed), with this
    Central's address and CA fingerprint to give the joining appliance."""
    config = request.app.state.config
    return JoinCode.model_validate(service.issue_join_code(db, admin, config, body))


@router.post("/members", status_code=201)
def redeem(request: Request, db: DbSession, body: RedeemRequest) -> Redeemed:
    """A joining appliance's Central trades a join code and its agents' certificate requests
    for their certificates; its agents become servers of this Central."""
    return Redeemed.model_validate(service.redeem(db, request.app.state.config, body))


@router.get("/members")
def list_members(db: DbSession, _user: CurrentUser) -> MemberPage:
    """The appliances in this Central's fleet, with their servers and states."""
    items: list[dict[str, Any]] = service.list_members(db)
    return MemberPage.model_validate({"items": items, "total": len(items)})


Force = Annotated[
    bool, Query(description="go on even if the other Central cannot be told (it keeps stale state)")
]


@router.delete("/members/{member_id}", status_code=204)
def remove_member(
    request: Request,
    db: DbSession,
    admin: Admin,
    member_id: MemberId,
    comment: DeleteComment,
    force: Force = False,
) -> Response:
    """Remove an appliance from the fleet: its Central is told first and manages its agents
    again; its servers are removed here and their certificates revoked."""
    body = LeaveRequest(force=force, comment=comment)
    service.remove_member(db, admin, request.app.state.config, member_id, body)
    return Response(status_code=204)


@router.post("/members/{member_id}/leave", status_code=204)
def member_leaves(
    request: Request, db: DbSession, member_id: MemberId, body: MemberLeave
) -> Response:
    """The member's own Central says the appliance leaves (with the secret of its join)."""
    service.member_leaves(db, request.app.state.config, member_id, body)
    return Response(status_code=204)


# --- a joined appliance --------------------------------------------------------------------
@router.get("/membership")
def get_membership(request: Request, _user: CurrentUser) -> Membership:
    """Whether this appliance is in a fleet, and which Central manages it."""
    root = request.app.state.config.root
    return Membership.model_validate(
        {**service.membership_public(root), "seed_join": seed.state(root)}
    )


@router.post("/membership")
def join(request: Request, db: DbSession, admin: Admin, body: JoinRequest) -> Membership:
    """Join the fleet of the Central at ``address``: its CA must have ``ca_fingerprint``; the
    agents of this appliance get certificates from it and are restarted."""
    config = request.app.state.config
    return Membership.model_validate(service.join(db, admin, config, body))


@router.delete("/membership", status_code=204)
def leave(
    request: Request, db: DbSession, admin: Admin, comment: DeleteComment, force: Force = False
) -> Response:
    """Leave the fleet: the managing Central removes this appliance's servers, this Central
    manages its agents again. ``force``: leave even if the managing Central cannot be told."""
    body = LeaveRequest(force=force, comment=comment)
    service.leave(db, admin, request.app.state.config, body)
    return Response(status_code=204)


@router.post("/membership/release", status_code=204)
def release(request: Request, db: DbSession, body: Release) -> Response:
    """The managing Central removed this appliance from its fleet (with the secret it got at
    the join): this Central manages its agents again."""
    service.released(db, request.app.state.config, body)
    return Response(status_code=204)
