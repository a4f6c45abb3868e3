"""``/api/v1/auth``, ``/api/v1/me``, ``/api/v1/users`` and ``/api/v1/api-tokens``."""

from __future__ import annotations

import hmac
import ipaddress
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response
from sqlalchemy import select

from central.auth import service
from central.auth.models import Token, User
from central.auth.schemas import (
    ApiTokenCreate,
    ApiTokenCreated,
    Login,
    LoginAnswer,
    Me,
    PasswordChange,
    TokenPublic,
    UserCreate,
    UserPublic,
    UserUpdate,
)
from central.core.deps import (
    Admin,
    CurrentUser,
    DbSession,
    DeleteComment,
    Principal,
    Role,
    require,
)
from central.core.listing import ListQuery, Page, page
from central.core.problems import RESPONSES
from services.common.problems import documented

router = APIRouter(prefix="/api/v1", responses=RESPONSES)

UserId = Annotated[int, Path(ge=1, le=2**31 - 1)]
TokenId = Annotated[int, Path(ge=1, le=2**31 - 1)]
# Every role but read-only may make API tokens for itself; administrators for anyone.
TokenMaker = Annotated[
    Principal,
    Depends(require(Role.ADMINISTRATOR, Role.DNS_ADMIN, Role.DHCP_ADMIN, Role.IPAM_ADMIN)),
]

USER_FIELDS = {
    "id": User.id,
    "username": User.username,
    "display_name": User.display_name,
    "role": User.role,
    "enabled": User.enabled,
    "created_at": User.created_at,
    "updated_at": User.updated_at,
}
TOKEN_FIELDS = {
    "id": Token.id,
    "name": Token.name,
    "user_id": Token.user_id,
    "created_at": Token.created_at,
    "expires_at": Token.expires_at,
    "last_used_at": Token.last_used_at,
}


# --- sessions ----------------------------------------------------------------------------
#: The web console logs users in from loopback; with the key it shares with Central
#: (var/lib/burrow/secrets/console-client.key) it names the browser's address in these headers.
CONSOLE_KEY_HEADER = "x-burrow-console-key"
CONSOLE_CLIENT_HEADER = "x-burrow-client"


def login_client(request: Request) -> str:
    """The address a login comes from: the console's browser when the console vouches for it.

    Only a request from loopback carrying the console's key may name another address; anyone
    else's header is ignored, so a client cannot pick the address its failures count against.
    """
    peer = request.client.host if request.client else "unknown"
    claimed = request.headers.get(CONSOLE_CLIENT_HEADER)
    key: str | None = request.app.state.console_key
    if claimed is None or not key or peer not in ("127.0.0.1", "::1"):
        return peer
    if not hmac.compare_digest(request.headers.get(CONSOLE_KEY_HEADER, "").encode(), key.encode()):
        return peer
    try:
        return str(ipaddress.ip_address(claimed))
    except ValueError:
        return peer


@router.post(
    "/auth/login",
    tags=["auth"],
    responses={429: documented("Too many failed logins; Retry-After says when to try again")},
)
def login(request: Request, db: DbSession, body: Login) -> LoginAnswer:
    """Log in: answers a bearer session token for ``Authorization: Bearer TOKEN``.

    Failed logins per user name and client address are limited (settings
    ``login_max_failures`` within ``login_lockout_seconds``; then 429 with Retry-After).
    """
    return service.login(db, request.app.state.throttle, body, login_client(request))


@router.post("/auth/logout", tags=["auth"], status_code=204)
def logout(db: DbSession, user: CurrentUser) -> Response:
    """Revoke the token this request was made with."""
    service.logout(db, user)
    return Response(status_code=204)


@router.get("/me", tags=["auth"])
def me(db: DbSession, user: CurrentUser) -> Me:
    """The caller."""
    view = service.user_view(service.get_user(db, user.user_id))
    return Me(**view.model_dump(), token=user.token_kind)  # type: ignore[arg-type]


@router.post("/me/password", tags=["auth"], status_code=204)
def change_password(
    request: Request, db: DbSession, user: CurrentUser, body: PasswordChange
) -> Response:
    """Change one's own password; one's other sessions are logged out."""
    service.change_own_password(db, user, body, request.app.state.config)
    return Response(status_code=204)


# --- users -------------------------------------------------------------------------------
@router.get("/users", tags=["users"])
def list_users(db: DbSession, _user: CurrentUser, params: ListQuery) -> Page[UserPublic]:
    """Users; filter e.g. ``role:read-only username~ops``."""
    rows, total = page(db, select(User), params, USER_FIELDS, ("username", "display_name"))
    return Page[UserPublic].of([service.user_view(u) for u in rows], total, params)


@router.get("/users/{user_id}", tags=["users"])
def get_user(db: DbSession, _user: CurrentUser, user_id: UserId) -> UserPublic:
    """One user."""
    return service.user_view(service.get_user(db, user_id))


@router.post(
    "/users",
    tags=["users"],
    status_code=201,
    responses={409: documented("A user of that name exists already")},
)
def create_user(db: DbSession, admin: Admin, body: UserCreate) -> UserPublic:
    """Make a user (administrators)."""
    return service.create_user(db, admin, body)


@router.patch(
    "/users/{user_id}",
    tags=["users"],
    responses={409: documented("The change would leave no enabled administrator")},
)
def update_user(
    request: Request, db: DbSession, admin: Admin, user_id: UserId, body: UserUpdate
) -> UserPublic:
    """Change a user's name, role, password or whether it is enabled (administrators)."""
    return service.update_user(db, admin, user_id, body, request.app.state.config)


@router.delete(
    "/users/{user_id}",
    tags=["users"],
    status_code=204,
    responses={409: documented("Oneself, or the last enabled administrator")},
)
def delete_user(db: DbSession, admin: Admin, user_id: UserId, comment: DeleteComment) -> Response:
    """Delete a user and its tokens (administrators; never the last administrator)."""
    service.delete_user(db, admin, user_id, comment)
    return Response(status_code=204)


# --- API tokens --------------------------------------------------------------------------
@router.get("/api-tokens", tags=["api tokens"])
def list_api_tokens(db: DbSession, user: CurrentUser, params: ListQuery) -> Page[TokenPublic]:
    """API tokens: one's own, or everyone's for administrators. The secrets are never shown."""
    query = select(Token).where(Token.kind == "api")
    if user.role != Role.ADMINISTRATOR.value:
        query = query.where(Token.user_id == user.user_id)
    rows, total = page(db, query, params, TOKEN_FIELDS, ("name",))
    names = dict(db.execute(select(User.id, User.username)).tuples().all())
    items = [service.token_view(t, names.get(t.user_id, "")) for t in rows]
    return Page[TokenPublic].of(items, total, params)


@router.get("/api-tokens/{token_id}", tags=["api tokens"])
def get_api_token(db: DbSession, user: CurrentUser, token_id: TokenId) -> TokenPublic:
    """One API token (one's own; administrators any). The secret is never shown."""
    token, username = service.get_api_token(db, user, token_id)
    return service.token_view(token, username)


@router.post("/api-tokens", tags=["api tokens"], status_code=201)
def create_api_token(db: DbSession, user: TokenMaker, body: ApiTokenCreate) -> ApiTokenCreated:
    """A long-lived token for scripts; the secret is in this answer only."""
    return service.create_api_token(db, user, body)


@router.delete("/api-tokens/{token_id}", tags=["api tokens"], status_code=204)
def revoke_api_token(
    db: DbSession, user: TokenMaker, token_id: TokenId, comment: DeleteComment
) -> Response:
    """Revoke an API token (one's own; administrators any)."""
    service.revoke_api_token(db, user, token_id, comment)
    return Response(status_code=204)
