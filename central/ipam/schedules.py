"""Discovery schedules: a router's neighbour table read with a stored SNMP profile
(``kind`` ``router``), or a ping sweep of an IPv4 range (``sweep``), every
``interval_seconds``; Central runs them itself and keeps what each last run did.

Central looks for due schedules every ``TICK`` seconds (``central.core.periodic.run_every``)
and runs them one at a time, the longest overdue first; a run is bounded by its kind (a sweep
takes at most ``MAX_SWEEP`` addresses at its rate, an SNMP read its profile's timeout and
retries per request). ``RUN_LOCK`` keeps a run asked for through the API from running beside
a scheduled one. Each run stores ``last_run_at``, ``last_result`` (``ok`` or ``error``),
``last_found``, ``last_new``, ``last_seconds`` and ``last_error``.

History: every change of a schedule (``ipam-discovery-schedule`` by id: create, update,
delete), every run asked for by a user (``run``), and a scheduled run only when it found
addresses not seen before or its result changed (``run`` by ``discovery-schedule``): a
schedule that finds the same hosts every five minutes does not fill the history.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from central.core.db import now
from central.core.deps import Principal
from central.core.periodic import run_every
from central.history.service import record
from central.ipam import discovery, profiles
from central.ipam.models import IpamDiscoverySchedule, IpamRange, IpamSnmpProfile
from services.common.errors import (
    BurrowError,
    ConflictError,
    FieldProblem,
    NotFoundError,
    ValidationError,
)
from services.common.model import Input

log = logging.getLogger(__name__)

OBJECT = "ipam-discovery-schedule"
#: Who a scheduled run is in the history.
SCHEDULER = "discovery-schedule"
#: Seconds between looks for due schedules.
TICK = 5.0
#: One discovery at a time in this process, scheduled or asked for.
RUN_LOCK = threading.Lock()
#: The longest a run asked for through the API waits for a running one to end.
RUN_WAIT = 120.0

Kind = Literal["router", "sweep"]
Interval = Annotated[int, Field(ge=60, le=7 * 86400, description="seconds between runs")]
Rate = Annotated[float, Field(ge=1, le=2000, description="sweep: echo requests per second")]
Comment = Annotated[str, Field(max_length=1000, description="save comment")]
Id = Annotated[int, Field(ge=1, le=2**31 - 1)]


class ScheduleBody(Input):
    """A schedule to make: ``router`` with ``profile_id`` (kind ``router``), or ``range_id``
    (kind ``sweep``)."""

    name: Annotated[str, Field(min_length=1, max_length=128)]
    kind: Kind
    router: Annotated[str, Field(max_length=64, description="router: its address")] | None = None
    profile_id: Id | None = Field(default=None, description="router: the SNMP profile")
    range_id: Id | None = Field(default=None, description="sweep: the IPv4 range")
    rate: Rate = 200.0
    interval_seconds: Interval
    enabled: bool = True
    comment: Comment = ""


class ScheduleChange(Input):
    """Fields of a schedule to change (its kind stays); the others keep their values."""

    name: Annotated[str, Field(min_length=1, max_length=128)] | None = None
    router: Annotated[str, Field(max_length=64)] | None = None
    profile_id: Id | None = None
    range_id: Id | None = None
    rate: Rate | None = None
    interval_seconds: Interval | None = None
    enabled: bool | None = None
    comment: Comment = ""


class SchedulePublic(BaseModel):
    """A discovery schedule and what its last run did."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    kind: str
    router: str | None
    profile_id: int | None
    range_id: int | None
    rate: float
    interval_seconds: int
    enabled: bool
    last_run_at: dt.datetime | None
    last_result: str = Field(description="ok, error, or empty: never run")
    last_found: int | None
    last_new: int | None
    last_seconds: float | None
    last_error: str
    next_run_at: dt.datetime | None = Field(description="none: disabled")
    created_at: dt.datetime
    updated_at: dt.datetime


_RUN_FIELDS = ("last_run_at", "last_result", "last_found", "last_new", "last_seconds",
               "last_error", "next_run_at", "created_at", "updated_at")  # fmt: skip


def next_run(row: IpamDiscoverySchedule) -> dt.datetime | None:
    if not row.enabled:
        return None
    if row.last_run_at is None:
        return row.created_at
    return row.last_run_at + dt.timedelta(seconds=row.interval_seconds)


def public(row: IpamDiscoverySchedule) -> SchedulePublic:
    shown = SchedulePublic.model_validate(
        {**{c: getattr(row, c) for c in SchedulePublic.model_fields if c != "next_run_at"},
         "next_run_at": next_run(row)}
    )  # fmt: skip
    return shown


def _history(row: IpamDiscoverySchedule) -> dict[str, Any]:
    return public(row).model_dump(mode="json", exclude=set(_RUN_FIELDS))


def get(db: Session, schedule_id: int) -> IpamDiscoverySchedule:
    row = db.get(IpamDiscoverySchedule, schedule_id)
    if row is None:
        raise NotFoundError(f"There is no discovery schedule {schedule_id}.",
                            field="schedule_id")  # fmt: skip
    return row


def _check(db: Session, row: IpamDiscoverySchedule) -> None:
    """Every field the schedule's kind needs, lacks or must not have, as problems."""
    problems: list[FieldProblem] = []
    with db.no_autoflush:
        taken = select(IpamDiscoverySchedule.id).where(IpamDiscoverySchedule.name == row.name)
        if row.id is not None:
            taken = taken.where(IpamDiscoverySchedule.id != row.id)
        if db.scalar(taken) is not None:
            problems.append(FieldProblem("name", f"a schedule named {row.name!r} exists already"))
        if row.kind == "router":
            if row.router is None:
                problems.append(FieldProblem("router", "a router schedule needs the router's "
                                             "address"))  # fmt: skip
            else:
                try:
                    row.router = discovery.router_address(row.router, "router")
                except ValidationError as exc:
                    problems += exc.problems
            if row.profile_id is None:
                problems.append(FieldProblem("profile_id", "a router schedule needs an SNMP "
                                             "profile"))  # fmt: skip
            elif db.get(IpamSnmpProfile, row.profile_id) is None:
                problems.append(
                    FieldProblem("profile_id", f"there is no SNMP profile {row.profile_id}")
                )
            if row.range_id is not None:
                problems.append(FieldProblem("range_id", "a router schedule sweeps no range"))
        else:
            if row.range_id is None:
                problems.append(FieldProblem("range_id", "a sweep schedule needs a range"))
            else:
                rng = db.get(IpamRange, row.range_id)
                if rng is None:
                    problems.append(
                        FieldProblem("range_id", f"there is no IPAM range {row.range_id}")
                    )
                else:
                    try:
                        discovery.sweep_targets(rng)
                    except ValidationError as exc:
                        problems += exc.problems
            for field in ("router", "profile_id"):
                if getattr(row, field) is not None:
                    problems.append(FieldProblem(field, f"a sweep schedule takes no {field}"))
    if problems:
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        raise ValidationError(f"{problems[0].field}: {problems[0].message}{more}",
                              problems=problems)  # fmt: skip


def create(db: Session, user: Principal, body: ScheduleBody) -> IpamDiscoverySchedule:
    moment = now()
    row = IpamDiscoverySchedule(
        name=body.name, kind=body.kind, router=body.router, profile_id=body.profile_id,
        range_id=body.range_id, rate=body.rate, interval_seconds=body.interval_seconds,
        enabled=body.enabled, last_result="", last_error="", created_at=moment,
        updated_at=moment,
    )  # fmt: skip
    _check(db, row)
    db.add(row)
    db.flush()
    record(db, user, OBJECT, row.id, "create", after=_history(row), comment=body.comment)
    db.commit()
    return row


def change(
    db: Session, user: Principal, row: IpamDiscoverySchedule, body: ScheduleChange
) -> IpamDiscoverySchedule:
    before = _history(row)
    for name, value in body.model_dump(exclude_unset=True, exclude={"comment"}).items():
        if value is not None or name in ("router", "profile_id", "range_id"):
            setattr(row, name, value)
    try:
        _check(db, row)
    except ValidationError:
        db.rollback()  # nothing half-applied
        raise
    row.updated_at = now()
    record(db, user, OBJECT, row.id, "update", before=before, after=_history(row),
           comment=body.comment)  # fmt: skip
    db.commit()
    return row


def delete(db: Session, user: Principal, row: IpamDiscoverySchedule, comment: str) -> None:
    before = _history(row)
    db.delete(row)
    record(db, user, OBJECT, row.id, "delete", before=before, comment=comment)
    db.commit()


# --- running -----------------------------------------------------------------------------------
def _discover(db: Session, row: IpamDiscoverySchedule) -> discovery.DiscoveryResult:
    if row.kind == "router":
        assert row.router is not None and row.profile_id is not None
        profile = profiles.snmp_profile(profiles.get(db, row.profile_id))
        return discovery.read_and_keep(db, row.router, profile)
    assert row.range_id is not None
    rng = db.get(IpamRange, row.range_id)
    if rng is None:
        raise NotFoundError(f"There is no IPAM range {row.range_id}.", field="range_id")
    return discovery.sweep_and_keep(db, rng, row.rate, 1.0)


def run(db: Session, row: IpamDiscoverySchedule, actor: Principal | None) -> None:
    """Run ``row`` now (the caller holds ``RUN_LOCK``) and store what it did; ``actor`` None:
    a scheduled run."""
    previous = row.last_result
    started = now()
    try:
        result = _discover(db, row)
    except (BurrowError, OSError) as exc:
        db.rollback()
        message = exc.message if isinstance(exc, BurrowError) else str(exc)
        row.last_result, row.last_error = "error", message
        row.last_found = row.last_new = None
        row.last_seconds = round((now() - started).total_seconds(), 3)
        log.warning("discovery schedule %s (%s) failed: %s", row.id, row.name, message)
    else:
        row.last_result, row.last_error = "ok", ""
        row.last_found, row.last_new, row.last_seconds = result.found, result.new, result.seconds
        log.info("discovery schedule %s (%s): %s found, %s new in %.2f s", row.id, row.name,
                 result.found, result.new, result.seconds)  # fmt: skip
    row.last_run_at = started
    if actor is not None or row.last_new or row.last_result != previous:
        after = {"result": row.last_result, "found": row.last_found, "new": row.last_new,
                 "seconds": row.last_seconds, "error": row.last_error}  # fmt: skip
        record(db, actor if actor is not None else SCHEDULER, OBJECT, row.id, "run",
               after=after)  # fmt: skip
    db.commit()


def run_now(db: Session, user: Principal, row: IpamDiscoverySchedule) -> IpamDiscoverySchedule:
    """Run ``row`` at once, after any discovery running now (409 after ``RUN_WAIT``)."""
    if not RUN_LOCK.acquire(timeout=RUN_WAIT):
        raise ConflictError("Another discovery has been running for over "
                            f"{RUN_WAIT:.0f} s: try again later.",
                            field="schedule_id")  # fmt: skip
    try:
        run(db, row, user)
    finally:
        RUN_LOCK.release()
    return row


def due(db: Session, moment: dt.datetime) -> list[int]:
    """The ids of the enabled schedules due at ``moment``, the longest overdue first."""
    rows = db.scalars(select(IpamDiscoverySchedule).where(IpamDiscoverySchedule.enabled))
    waiting = [(when, row.id) for row in rows if (when := next_run(row)) and when <= moment]
    return [schedule_id for _when, schedule_id in sorted(waiting)]


def run_due(sessions: Any) -> int:
    """Run every schedule due now, one at a time; how many ran."""
    with sessions() as db:
        waiting = due(db, now())
    ran = 0
    for schedule_id in waiting:
        with RUN_LOCK, sessions() as db:
            row = db.get(IpamDiscoverySchedule, schedule_id)
            # changed, disabled, deleted or run through the API meanwhile: look again
            if row is None or schedule_id not in due(db, now()):
                continue
            try:
                run(db, row, None)
            except Exception:
                db.rollback()
                log.exception("discovery schedule %s failed", schedule_id)
            ran += 1
    return ran


async def run_forever(sessions: Any, first_delay: float = 3.0) -> None:
    await run_every("discovery schedules", lambda: run_due(sessions), lambda: TICK,
                    first_delay=first_delay)  # fmt: skip
