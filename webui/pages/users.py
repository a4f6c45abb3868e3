"""Users and roles: the list for everyone; creating, changing and deleting for administrators."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from webui.central import ApiError
from webui.forms import FormErrors, Placement, Reader, in_words, refusal
from webui.paging import Pager, clamp_offset, query
from webui.session import Session
from webui.web import CurrentSession, WriteRequest, console, redirect, render, values

router = APIRouter(prefix="/users")

PAGE = 100
ROLES = (
    ("read-only", "Read-only"),
    ("dns-admin", "DNS administrator"),
    ("dhcp-admin", "DHCP administrator"),
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
