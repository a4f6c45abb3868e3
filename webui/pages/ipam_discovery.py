"""IPAM discovery: the SNMP profiles (secrets write-only), the discovery schedules with what
each last run did and "run now", the addresses discovery found (paged), and "sweep now" on a
range's page. Administrators and IPAM administrators change and run; every role reads.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from webui.central import ApiError
from webui.forms import (
    FormErrors,
    FormInputError,
    Placement,
    format_duration,
    in_words,
    refusal,
    status_of,
)
from webui.ipam_discovery import (
    AUTH_PROTOCOLS,
    PRIV_PROTOCOLS,
    PROFILE_NAMES,
    SECRETS,
    SEEN_PAGE,
    VERSIONS,
    DiscoveryApi,
    Found,
    Profile,
    found_words,
    profile_body,
    profile_values,
    run_words,
    schedule_body,
    swept_in,
)
from webui.pages.ipam import range_page
from webui.paging import Pager, clamp_offset, query
from webui.session import Session
from webui.web import CurrentSession, WriteRequest, console, redirect, render, values

router = APIRouter(prefix="/ipam")

ProfileId = Path(ge=1, le=2**31 - 1)
ScheduleId = Path(ge=1, le=2**31 - 1)
RangeId = Path(ge=1, le=2**31 - 1)
HOME = "/ipam/discovery"
PROFILE_FORM = Placement.same(*PROFILE_NAMES, *SECRETS)
SCHEDULE_NAMES = ("name", "kind", "router", "profile_id", "range_id", "rate",
                  "interval_seconds", "enabled", "comment")  # fmt: skip
SCHEDULE_FORM = Placement.same(*SCHEDULE_NAMES, fields={"schedule_id": "name"})
KINDS = (("sweep", "ping sweep of a range"), ("router", "a router's neighbour table (SNMP)"))
NEW_PROFILE = {"version": "2c", "auth_protocol": "sha256", "priv_protocol": "aes128",
               "port": "161", "timeout": "2", "retries": "1"}  # fmt: skip
NEW_SCHEDULE = {"kind": "sweep", "interval_seconds": "1h", "rate": "200", "enabled": "yes"}


def _api(request: Request, session: Session) -> DiscoveryApi:
    return DiscoveryApi(console(request).central, session.token)


def _choices(api: DiscoveryApi) -> dict[str, Any]:
    """The profiles and the IPv4 ranges a schedule's form offers."""
    ranges = [r for r in api.ranges() if r.family == 4]
    profiles = api.profiles()
    return {
        "profile_options": [("", "choose a profile")]
        + [(str(p.id), f"{p.name} (v{p.version})") for p in profiles],
        "range_options": [("", "choose a range")]
        + [(str(r.id), f"{r.start}\u2013{r.end}{' ' + r.name if r.name else ''}") for r in ranges],
        "profile_names": {p.id: p.name for p in profiles},
        "range_names": {r.id: f"{r.start}\u2013{r.end}" for r in ranges},
    }


def _common() -> dict[str, Any]:
    return {"versions": VERSIONS, "auth_protocols": AUTH_PROTOCOLS,
            "priv_protocols": PRIV_PROTOCOLS, "kinds": KINDS,
            "found_words": found_words}  # fmt: skip


# --- the discovery page --------------------------------------------------------------------
def discovery_page(request: Request, session: Session, status: int = 200, **extra: Any) -> Response:
    api = _api(request, session)
    params = request.query_params
    offset = clamp_offset(params.get("offset"), SEEN_PAGE)
    seen = api.seen(offset)
    schedules = api.schedules()
    ran = None
    if params.get("ran", "").isdigit():
        ran = next((s for s in schedules if s.id == int(params["ran"])), None)
    context: dict[str, Any] = {
        "profiles": api.profiles(), "schedules": schedules, "seen": seen.items,
        "pager": Pager(offset, SEEN_PAGE, seen.total),
        "qs": lambda **changes: query({"offset": offset}, **changes),
        "ran": ran, "ran_words": run_words(ran) if ran else "", "failed": "",
        "errors": FormErrors(), "error": "", "values": dict(NEW_PROFILE),
        "schedule_values": dict(NEW_SCHEDULE),
    }  # fmt: skip
    context |= _choices(api) | _common()
    context.update(extra)
    return render(request, "ipam_discovery.html", session, status, **context)


@router.get("/discovery")
def discovery(request: Request, session: CurrentSession) -> Response:
    return discovery_page(request, session)


# --- SNMP profiles -------------------------------------------------------------------------
@router.post("/discovery/profiles")
def create_profile(request: Request, write: WriteRequest) -> Response:
    try:
        _api(request, write.session).create_profile(profile_body(write.form, creating=True))
    except (ApiError, FormInputError) as exc:
        errors = refusal(exc, PROFILE_FORM)
        return discovery_page(
            request,
            write.session,
            status_of(exc),
            failed="profile",
            errors=errors,
            error=errors.banner,
            values=values(write.form, *PROFILE_NAMES),  # never a secret
        )
    return redirect(request, f"{HOME}?done=ipam-profile-created")


def profile_page(
    request: Request, session: Session, profile_id: int, status: int = 200, **extra: Any
) -> Response:
    profile: Profile = _api(request, session).profile(profile_id)
    context: dict[str, Any] = {"profile": profile, "errors": FormErrors(), "error": "",
                               "values": profile_values(profile)}  # fmt: skip
    context |= _common()
    context.update(extra)
    return render(request, "ipam_profile.html", session, status, **context)


@router.get("/discovery/profiles/{profile_id}")
def profile(request: Request, session: CurrentSession, profile_id: int = ProfileId) -> Response:
    return profile_page(request, session, profile_id)


@router.post("/discovery/profiles/{profile_id}")
def change_profile(request: Request, write: WriteRequest, profile_id: int = ProfileId) -> Response:
    try:
        body = profile_body(write.form, creating=False)
        _api(request, write.session).change_profile(profile_id, body)
    except (ApiError, FormInputError) as exc:
        errors = refusal(exc, PROFILE_FORM)
        return profile_page(
            request,
            write.session,
            profile_id,
            status_of(exc),
            errors=errors,
            error=errors.banner,
            values=values(write.form, *PROFILE_NAMES),  # never a secret
        )
    return redirect(request, f"{HOME}/profiles/{profile_id}?done=ipam-profile-saved")


@router.post("/discovery/profiles/{profile_id}/delete")
def delete_profile(request: Request, write: WriteRequest, profile_id: int = ProfileId) -> Response:
    try:
        _api(request, write.session).delete_profile(profile_id, write.comment)
    except ApiError as exc:
        if exc.status >= 500:
            raise
        return profile_page(request, write.session, profile_id, exc.status, error=in_words(exc))
    return redirect(request, f"{HOME}?done=ipam-profile-deleted")


# --- discovery schedules -------------------------------------------------------------------
@router.post("/discovery/schedules")
def create_schedule(request: Request, write: WriteRequest) -> Response:
    kind = write.get("kind")
    try:
        body = schedule_body(write.form, kind, creating=True)
        _api(request, write.session).create_schedule(body)
    except (ApiError, FormInputError) as exc:
        errors = refusal(exc, SCHEDULE_FORM)
        return discovery_page(
            request,
            write.session,
            status_of(exc),
            failed="schedule",
            errors=errors,
            error=errors.banner,
            schedule_values=values(write.form, *SCHEDULE_NAMES),
        )
    return redirect(request, f"{HOME}?done=ipam-schedule-created")


def schedule_page(
    request: Request, session: Session, schedule_id: int, status: int = 200, **extra: Any
) -> Response:
    api = _api(request, session)
    schedule = api.schedule(schedule_id)
    shown = {
        "name": schedule.name, "kind": schedule.kind, "router": schedule.router or "",
        "profile_id": str(schedule.profile_id or ""), "range_id": str(schedule.range_id or ""),
        "rate": f"{schedule.rate:g}", "enabled": "yes" if schedule.enabled else "",
        "interval_seconds": format_duration(schedule.interval_seconds),
    }  # fmt: skip
    context: dict[str, Any] = {"schedule": schedule, "errors": FormErrors(), "error": "",
                               "values": shown, "ran_words": ""}  # fmt: skip
    context |= _choices(api) | _common()
    context.update(extra)
    return render(request, "ipam_schedule.html", session, status, **context)


@router.get("/discovery/schedules/{schedule_id}")
def schedule(request: Request, session: CurrentSession, schedule_id: int = ScheduleId) -> Response:
    return schedule_page(request, session, schedule_id)


@router.post("/discovery/schedules/{schedule_id}")
def change_schedule(
    request: Request, write: WriteRequest, schedule_id: int = ScheduleId
) -> Response:
    api = _api(request, write.session)
    kind = api.schedule(schedule_id).kind
    try:
        api.change_schedule(schedule_id, schedule_body(write.form, kind, creating=False))
    except (ApiError, FormInputError) as exc:
        errors = refusal(exc, SCHEDULE_FORM)
        return schedule_page(
            request,
            write.session,
            schedule_id,
            status_of(exc),
            errors=errors,
            error=errors.banner,
            values=values(write.form, *SCHEDULE_NAMES) | {"kind": kind},
        )
    return redirect(request, f"{HOME}/schedules/{schedule_id}?done=ipam-schedule-saved")


@router.post("/discovery/schedules/{schedule_id}/delete")
def delete_schedule(
    request: Request, write: WriteRequest, schedule_id: int = ScheduleId
) -> Response:
    try:
        _api(request, write.session).delete_schedule(schedule_id, write.comment)
    except ApiError as exc:
        if exc.status >= 500:
            raise
        return schedule_page(request, write.session, schedule_id, exc.status,
                             error=in_words(exc))  # fmt: skip
    return redirect(request, f"{HOME}?done=ipam-schedule-deleted")


@router.post("/discovery/schedules/{schedule_id}/run")
def run_schedule(request: Request, write: WriteRequest, schedule_id: int = ScheduleId) -> Response:
    """Run the schedule now; the discovery page then says what the run did (a run that fails
    is a result too: its error is shown)."""
    try:
        _api(request, write.session).run(schedule_id)
    except ApiError as exc:
        if exc.status >= 500:
            raise
        return discovery_page(request, write.session, exc.status, error=in_words(exc))
    return redirect(request, f"{HOME}?ran={schedule_id}#schedules")


# --- a range's sweep -----------------------------------------------------------------------
@router.post("/ranges/{range_id}/sweep")
def sweep(request: Request, write: WriteRequest, range_id: int = RangeId) -> Response:
    """Sweep the range now and show its grid with what answered (the addresses ping last saw,
    as many as the sweep found, that lie in the range)."""
    api = _api(request, write.session)
    try:
        found: Found = api.sweep(range_id, write.comment)
    except ApiError as exc:
        if exc.status >= 500 and exc.status != 502:
            raise
        return range_page(request, write.session, range_id, exc.status, error=in_words(exc))
    answered: list[str] = []
    if found.found:
        recent = api.seen(0, min(found.found, 1000), filter="seen_by:ping", sort="-last_seen")
        answered = swept_in(api.range(range_id), recent.items)
    return range_page(request, write.session, range_id, swept=found, answered=answered)
