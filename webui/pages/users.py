"""Users and roles: the list for everyone; creating, changing and deleting for administrators."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from webui.central import ApiError
from webui.forms import FormErrors, Placement, Reader, in_words, refusal
from webui.paging import Pager, clamp_offset, query, selected
from webui.session import Session
from webui.web import CurrentSession, WriteRequest, console, redirect, render, values

router = APIRouter(prefix="/users")

PAGE = 100
ROLES = (
    ("read-only", "Read-only"),
    ("dns-admin", "DNS administrator"),
    ("dhcp-admin", "DHCP administrator"),
    ("ipam-admin", "IPAM administrator"),
    ("administrator", "Administrator"),
)
UserId = Path(ge=1, le=2**31 - 1)
CREATE_FORM = Placement.same("username", "display_name", "role", "password", "comment")
#: A user's row: the changes it sends are named as the request's own.
ROW_FORM = Placement.same("role", "enabled", "password", "comment")


def users_page(request: Request, session: Session, status: int = 200, **extra: Any) -> Response:
    offset = clamp_offset(request.query_params.get("offset"), PAGE)
    answer = console(request).central.users(
        session.token, sort="username", offset=offset, limit=PAGE
    )
    context: dict[str, Any] = {
        "users": answer.items,
        "pager": Pager(offset, PAGE, answer.total),
        "qs": lambda **changes: query({"offset": offset}, **changes),
        "roles": ROLES,
        "errors": FormErrors(),
        "values": {"role": "read-only"},
        "row_for": None,
        "row_errors": FormErrors(),
        "error": "",
    }
    context.update(extra)
    return render(request, "users.html", session, status, **context)


@router.get("")
def users(request: Request, session: CurrentSession) -> Response:
    return users_page(request, session)


@router.post("")
def create_user(request: Request, write: WriteRequest) -> Response:
    body = {
        "username": write.get("username"),
        "display_name": write.get("display_name"),
        "role": write.get("role"),
        "password": write.form.get("password", ""),
        "comment": write.comment,
    }
    try:
        console(request).central.create_user(write.session.token, body)
    except ApiError as exc:
        errors = refusal(exc, CREATE_FORM)
        return users_page(
            request, write.session, exc.status, errors=errors, error=errors.banner,
            values=values(write.form, "username", "display_name", "role", "comment"),
        )  # fmt: skip
    return redirect(request, "/users?done=user-created")


#: The bulk actions of the users' list: the button's value -> what is sent for each user.
BULK = {"enable": {"enabled": True}, "disable": {"enabled": False}, "delete": None}


@router.post("/bulk")
def bulk(request: Request, write: WriteRequest) -> Response:
    """Enable, disable or delete the checked users, one after the other; those Central
    refuses (the last administrator, oneself) are named with the reason, the rest is done."""
    action = write.get("bulk")
    ids = [int(v) for v in selected(write.form) if v.isdigit()]
    if action not in BULK:
        return users_page(request, write.session, 422, error="Choose what to do.")
    if not ids:
        return users_page(request, write.session, 422, error="Select at least one user.")
    central = console(request).central
    token = write.session.token
    names = {u.id: u.username for u in central.users(token, limit=1000).items}
    done, refused = 0, []
    for user_id in ids:
        try:
            change = BULK[action]
            if change is None:
                central.delete_user(token, user_id, write.comment)
            else:
                central.update_user(token, user_id, change | {"comment": write.comment})
            done += 1
        except ApiError as exc:
            refused.append(f"{names.get(user_id, user_id)}: {in_words(exc)}")
    if refused:
        error = f"{done} done; refused: " + "; ".join(refused)
        return users_page(request, write.session, 409, error=error)
    return redirect(request, f"/users?done=users-{action}d")


@router.post("/{user_id}")
def update_user(request: Request, write: WriteRequest, user_id: int = UserId) -> Response:
    read = Reader(write.form)
    body: dict[str, Any] = {"role": read.text("role"), "enabled": read.flag("enabled")}
    if write.form.get("password"):
        body["password"] = write.form["password"]
    body["comment"] = write.comment
    try:
        console(request).central.update_user(write.session.token, user_id, body)
    except ApiError as exc:
        errors = refusal(exc, ROW_FORM)
        return users_page(request, write.session, exc.status, row_for=user_id,
                          row_errors=errors, error=errors.banner)  # fmt: skip
    return redirect(request, "/users?done=user-saved")


@router.post("/{user_id}/delete")
def delete_user(request: Request, write: WriteRequest, user_id: int = UserId) -> Response:
    try:
        console(request).central.delete_user(write.session.token, user_id, write.comment)
    except ApiError as exc:
        return users_page(request, write.session, exc.status, error=in_words(exc))
    return redirect(request, "/users?done=user-deleted")
