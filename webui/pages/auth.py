"""Logging in and out. A failed login never says whether the name or the password was wrong."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from webui.central import ApiError, CentralDownError, SessionGoneError, UnavailableError
from webui.session import COOKIE, Session, new_session
from webui.web import WriteRequest, console, read_form, redirect, render, same_origin

router = APIRouter()

BAD_LOGIN = "The user name or the password is wrong."


def safe_next(target: str | None) -> str:
    """Only a path of this console (never ``//host`` or a full URL) to go to after login."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def login_page(
    request: Request, status: int = 200, error: str = "", username: str = ""
) -> Response:
    return render(
        request, "login.html", None, status,
        error=error, username=username, next=safe_next(request.query_params.get("next")),
    )  # fmt: skip


def set_cookie(request: Request, response: Response, session: Session) -> None:
    response.set_cookie(
        COOKIE,
        console(request).sealer.seal(session),
        max_age=session.seconds_left(),
        path="/",
        secure=True,
        httponly=True,
        samesite="strict",
    )


@router.get("/login")
def login_form(request: Request) -> Response:
    return login_page(request)


@router.post("/login")
async def login(request: Request) -> Response:
    form = await read_form(request)
    username = form.get("username", "").strip()
    password = form.get("password", "")
    if not same_origin(request):
        return login_page(request, 403, "This login form did not come from this console.")
    if not username or not password:
        return login_page(request, 422, BAD_LOGIN, username)
    try:
        client = request.client.host if request.client else None
        answer = console(request).central.login(username, password, client)
    except CentralDownError as exc:
        return login_page(request, 503, str(exc), username)
    except UnavailableError as exc:
        return login_page(request, 503, exc.sentence, username)
    except ApiError as exc:
        if exc.status == 429:
            wait = f"try again in {exc.retry_after} s" if exc.retry_after else "wait a few minutes"
            return login_page(request, 429, f"Too many failed logins: {wait}.", username)
        # Whatever was wrong, the answer never says whether the name or the password was.
        return login_page(request, 401 if exc.status in (401, 422) else exc.status, BAD_LOGIN,
                          username)  # fmt: skip
    user = answer.user
    session = new_session(answer.token, user.username, user.role, answer.expires_at)
    response = redirect(request, safe_next(form.get("next")))
    set_cookie(request, response, session)
    return response


@router.post("/logout")
def logout(request: Request, write: WriteRequest) -> Response:
    try:
        console(request).central.logout(write.session.token)
    except (ApiError, SessionGoneError, CentralDownError):
        pass  # already expired or revoked: the cookie goes anyway
    response = redirect(request, "/login?done=logged-out")
    response.delete_cookie(COOKIE, path="/", secure=True, httponly=True, samesite="strict")
    return response
