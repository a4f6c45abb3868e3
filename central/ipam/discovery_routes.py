"""``/api/v1/ipam/snmp-profiles`` and ``/api/v1/ipam/discovery/schedules``: stored SNMP
profiles (secrets write-only) and discovery schedules (list, make, change, delete, run now).

Administrators and IPAM administrators change both; every role reads them (a profile never
shows its secrets, only whether they are set). Every change is in the history
(``ipam-snmp-profile``, ``ipam-discovery-schedule``), never with a secret's value.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select

from central.core.deps import CurrentUser, DbSession, DeleteComment, Principal, Role, require
from central.core.listing import ListQuery, Page, page
from central.core.problems import RESPONSES
from central.ipam import profiles, schedules
from central.ipam.models import IpamDiscoverySchedule, IpamSeen, IpamSnmpProfile
from services.common import problems

router = APIRouter(
    prefix="/api/v1/ipam",
    tags=["ipam"],
    responses={
        **RESPONSES,
        409: problems.documented(
            "The change clashes with what exists (a profile a schedule uses, a discovery "
            "running); nothing was changed"
        ),
    },
)

IpamAdmin = Annotated[Principal, Depends(require(Role.IPAM_ADMIN))]
ObjectId = Annotated[int, Path(ge=1, le=2**31 - 1)]

PROFILE_FIELDS = {"id": IpamSnmpProfile.id, "name": IpamSnmpProfile.name,
                  "version": IpamSnmpProfile.version,
                  "description": IpamSnmpProfile.description}  # fmt: skip
SCHEDULE_FIELDS = {"id": IpamDiscoverySchedule.id, "name": IpamDiscoverySchedule.name,
                   "kind": IpamDiscoverySchedule.kind, "router": IpamDiscoverySchedule.router,
                   "profile_id": IpamDiscoverySchedule.profile_id,
                   "range_id": IpamDiscoverySchedule.range_id,
                   "enabled": IpamDiscoverySchedule.enabled,
                   "last_result": IpamDiscoverySchedule.last_result}  # fmt: skip


SEEN_FIELDS = {"id": IpamSeen.id, "address": IpamSeen.address, "family": IpamSeen.family,
               "mac": IpamSeen.mac, "seen_by": IpamSeen.seen_by,
               "first_seen": IpamSeen.first_seen, "last_seen": IpamSeen.last_seen,
               "first": IpamSeen.key}  # fmt: skip


class SeenPublic(BaseModel):
    """An address discovery found in use: the MAC address a router last gave for it, who saw
    it last (``ping`` or ``snmp ROUTER``), first and last seen."""

    model_config = ConfigDict(from_attributes=True)

    address: str
    family: int
    mac: str
    seen_by: str
    first_seen: dt.datetime
    last_seen: dt.datetime


# --- what discovery found ----------------------------------------------------------------------
@router.get("/discovery/seen")
def list_seen(db: DbSession, _user: CurrentUser, params: ListQuery) -> Page[SeenPublic]:
    """Every address discovery found in use, in or out of a range, in address order; filter
    e.g. ``mac:02:00:5e:00:01:00`` or ``seen_by~snmp``."""
    rows, total = page(db, select(IpamSeen), params, SEEN_FIELDS, ("address", "mac", "seen_by"),
                       "first")  # fmt: skip
    return Page[SeenPublic].of([SeenPublic.model_validate(r) for r in rows], total, params)


# --- SNMP profiles -----------------------------------------------------------------------------
@router.get("/snmp-profiles")
def list_profiles(
    db: DbSession, _user: CurrentUser, params: ListQuery
) -> Page[profiles.ProfilePublic]:
    """SNMP profiles; filter e.g. ``version:3`` or ``name~core``."""
    rows, total = page(db, select(IpamSnmpProfile), params, PROFILE_FIELDS,
                       ("name", "description"), "name")  # fmt: skip
    return Page[profiles.ProfilePublic].of([profiles.public(r) for r in rows], total, params)


@router.post("/snmp-profiles", status_code=201)
def create_profile(
    db: DbSession, user: IpamAdmin, body: profiles.ProfileBody
) -> profiles.ProfilePublic:
    """Make a profile: v1 or v2c with ``community``, or v3 with ``user``, ``auth_passphrase``
    and ``priv_passphrase`` (authPriv). The secrets are never answered."""
    return profiles.public(profiles.create(db, user, body))


@router.get("/snmp-profiles/{profile_id}")
def get_profile(db: DbSession, _user: CurrentUser, profile_id: ObjectId) -> profiles.ProfilePublic:
    return profiles.public(profiles.get(db, profile_id))


@router.patch("/snmp-profiles/{profile_id}")
def change_profile(
    db: DbSession, user: IpamAdmin, profile_id: ObjectId, body: profiles.ProfileChange
) -> profiles.ProfilePublic:
    """Change a profile; a secret not given stays as it is, one given replaces it."""
    row = profiles.get(db, profile_id)
    return profiles.public(profiles.change(db, user, row, body))


@router.delete("/snmp-profiles/{profile_id}", status_code=204)
def delete_profile(
    db: DbSession, user: IpamAdmin, profile_id: ObjectId, comment: DeleteComment
) -> None:
    """Delete a profile no schedule uses (409 otherwise)."""
    profiles.delete(db, user, profiles.get(db, profile_id), comment)


# --- discovery schedules -----------------------------------------------------------------------
@router.get("/discovery/schedules")
def list_schedules(
    db: DbSession, _user: CurrentUser, params: ListQuery
) -> Page[schedules.SchedulePublic]:
    """Discovery schedules with their last run; filter e.g. ``kind:router`` or
    ``last_result:error``."""
    rows, total = page(db, select(IpamDiscoverySchedule), params, SCHEDULE_FIELDS,
                       ("name", "router"), "name")  # fmt: skip
    return Page[schedules.SchedulePublic].of([schedules.public(r) for r in rows], total, params)


@router.post("/discovery/schedules", status_code=201)
def create_schedule(
    db: DbSession, user: IpamAdmin, body: schedules.ScheduleBody
) -> schedules.SchedulePublic:
    """Make a schedule: ``kind`` ``router`` with ``router`` and ``profile_id``, or ``sweep``
    with ``range_id``; it first runs within seconds, then every ``interval_seconds``."""
    return schedules.public(schedules.create(db, user, body))


@router.get("/discovery/schedules/{schedule_id}")
def get_schedule(
    db: DbSession, _user: CurrentUser, schedule_id: ObjectId
) -> schedules.SchedulePublic:
    return schedules.public(schedules.get(db, schedule_id))


@router.patch("/discovery/schedules/{schedule_id}")
def change_schedule(
    db: DbSession, user: IpamAdmin, schedule_id: ObjectId, body: schedules.ScheduleChange
) -> schedules.SchedulePublic:
    """Change a schedule (its kind stays)."""
    row = schedules.get(db, schedule_id)
    return schedules.public(schedules.change(db, user, row, body))


@router.delete("/discovery/schedules/{schedule_id}", status_code=204)
def delete_schedule(
    db: DbSession, user: IpamAdmin, schedule_id: ObjectId, comment: DeleteComment
) -> None:
    schedules.delete(db, user, schedules.get(db, schedule_id), comment)


@router.post("/discovery/schedules/{schedule_id}/run")
def run_schedule(db: DbSession, user: IpamAdmin, schedule_id: ObjectId) -> schedules.SchedulePublic:
    """Run the schedule now (after a discovery running at the moment) and answer what it did:
    a run that fails is ``last_result`` ``error`` with ``last_error``, not an error answer."""
    row = schedules.get(db, schedule_id)
    return schedules.public(schedules.run_now(db, user, row))
