"""The fleet (docs/fleet.md): one page, ``/fleet``, for both sides of it.

On a managing Central: the appliances of its fleet with their servers' health, "add
appliance" (a one-time join code, shown once with its expiry, this Central's address and the
fingerprint of its CA) and removing an appliance. On an appliance in no fleet: "join a fleet"
(the managing Central's address, port, CA fingerprint and code). On a joined appliance: which
Central manages it (a link to that console), and "leave the fleet". A join asked for by the
first-boot seed shows its state (waiting and trying again, joined, failed) on either.

Every change is an administrator's (Central refuses the others); every role sees the page.
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
    Reader,
    in_words,
    refusal,
    status_of,
)
from webui.session import Session
from webui.web import CurrentSession, WriteRequest, console, redirect, render, values

router = APIRouter(prefix="/fleet")

MemberId = Path(ge=1, le=2**31 - 1)
ADMIN = "administrator"
#: How long a join code lasts: (seconds, words), the first the default.
EXPIRIES = ((3600, "1 hour"), (86400, "1 day"), (7 * 86400, "7 days"))
CODE_FORM = Placement.same("expires_in_seconds", "comment")
JOIN_FORM = Placement.same("address", "port", "ca_fingerprint", "code", "comment")
JOIN_FIELDS = ("address", "port", "ca_fingerprint", "code", "comment")


def fleet_page(request: Request, session: Session, status: int = 200, **extra: Any) -> Response:
    central = console(request).central
    membership = central.fleet_membership(session.token)
    members = [] if membership.joined else central.fleet_members(session.token)
    context: dict[str, Any] = {
        "membership": membership,
        "members": members,
        "admin": session.role == ADMIN,
        "expiries": EXPIRIES,
        "made": None,
        "code_errors": FormErrors(),
        "code_values": {},
        "join_errors": FormErrors(),
        "join_values": {"port": "1231"},
        "error": "",
    }
    context.update(extra)
    return render(request, "fleet.html", session, status, **context)


@router.get("")
def fleet(request: Request, session: CurrentSession) -> Response:
    return fleet_page(request, session)


@router.post("/joins")
def make_join_code(request: Request, write: WriteRequest) -> Response:
    read = Reader(write.form)
    body = {
        "expires_in_seconds": read.whole("expires_in_seconds", default=EXPIRIES[0][0]),
        "comment": write.comment,
    }
    try:
        read.check()
        made = console(request).central.make_join_code(write.session.token, body)
    except (ApiError, FormInputError) as exc:
        errors = refusal(exc, CODE_FORM)
        return fleet_page(
            request, write.session, status_of(exc), code_errors=errors, error=errors.banner,
            code_values=values(write.form, "expires_in_seconds", "comment"),
        )  # fmt: skip
    # Shown on this answer only: Central keeps the code's hash, the console nothing.
    return fleet_page(request, write.session, 201, made=made)


@router.post("/members/{member_id}/remove")
def remove_member(request: Request, write: WriteRequest, member_id: int = MemberId) -> Response:
    force = Reader(write.form).flag("force")
    try:
        console(request).central.remove_fleet_member(
            write.session.token, member_id, write.comment, force
        )
    except ApiError as exc:
        return fleet_page(request, write.session, exc.status, error=in_words(exc))
    return redirect(request, "/fleet?done=fleet-member-removed")


@router.post("/membership")
def join(request: Request, write: WriteRequest) -> Response:
    read = Reader(write.form)
    body = {
        "address": read.text("address"),
        "port": read.whole("port", default=1231, example="1231"),
        "ca_fingerprint": read.text("ca_fingerprint"),
        "code": read.text("code"),
        "comment": write.comment,
    }
    try:
        read.check()
        console(request).central.join_fleet(write.session.token, body)
        console(request).fleet = None  # every page's note follows at once
    except (ApiError, FormInputError) as exc:
        errors = refusal(exc, JOIN_FORM)
        kept = values(write.form, *JOIN_FIELDS)
        kept["code"] = ""  # a code is typed again, never sent back in a page
        return fleet_page(
            request, write.session, status_of(exc), join_errors=errors,
            error=errors.banner or "The appliance did not join: see the form below.",
            join_values=kept,
        )  # fmt: skip
    return redirect(request, "/fleet?done=fleet-joined")


@router.post("/membership/leave")
def leave(request: Request, write: WriteRequest) -> Response:
    force = Reader(write.form).flag("force")
    try:
        console(request).central.leave_fleet(write.session.token, write.comment, force)
    except ApiError as exc:
        return fleet_page(request, write.session, exc.status, error=in_words(exc))
    finally:
        console(request).fleet = None
    return redirect(request, "/fleet?done=fleet-left")
