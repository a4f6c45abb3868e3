"""Typed dependencies of the routes: the database session, the caller and role checks.

Roles: ``administrator`` may do everything; ``dns-admin``, ``dhcp-admin`` and ``ipam-admin``
change their own domain (and read everything); ``read-only`` reads. A role check runs before
the request body is validated, so a caller without the role gets 403 whatever it sent.

What needs no database runs on the event loop (``async def``); FastAPI hands every plain
``def`` dependency to a worker thread, and each such hop costs more than the work of a small
request. So a request to a plain ``def`` route crosses to a thread twice: once to find its
caller (a query, sometimes a write) and once for the route itself.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from central.auth.models import Token, User
from central.core.db import now
from central.core.problems import ProblemError
from central.core.security import token_hash
from services.common.errors import ForbiddenError

#: How often a token's ``last_used_at`` is written (not on every request).
LAST_USED_RESOLUTION = dt.timedelta(seconds=60)


class Role(StrEnum):
    """What a user may do."""

    ADMINISTRATOR = "administrator"
    DNS_ADMIN = "dns-admin"
    DHCP_ADMIN = "dhcp-admin"
    IPAM_ADMIN = "ipam-admin"
    READ_ONLY = "read-only"


@dataclass(frozen=True)
class Principal:
    """The authenticated caller of one request."""

    user_id: int
    username: str
    role: str
    token_id: int
    token_kind: str


async def get_db(request: Request) -> AsyncIterator[Session]:
    """A session for the request, closed when it is done.

    Making a session touches no database (it connects at its first statement). Closing it
    ends its transaction, a ROLLBACK that never waits for a lock, so it is done here on the
    event loop rather than in a worker thread.
    """
    session = request.app.state.sessions()
    try:
        yield session
    finally:
        session.close()


DbSession = Annotated[Session, Depends(get_db)]


def _unauthenticated(message: str) -> ProblemError:
    return ProblemError(401, message, headers={"WWW-Authenticate": "Bearer"})


#: The caller of a request by its token's hash: one statement, built (and compiled) once.
_TOKENS = Token.__table__.c
_USERS = User.__table__.c
_PRINCIPAL = (
    select(
        _TOKENS.id,
        _TOKENS.kind,
        _TOKENS.expires_at,
        _TOKENS.last_used_at,
        _TOKENS.revoked_at,
        _USERS.id,
        _USERS.username,
        _USERS.role,
        _USERS.enabled,
    )
    .join_from(Token.__table__, User.__table__, _USERS.id == _TOKENS.user_id)
    .where(_TOKENS.token_hash == bindparam("token_hash"))
)
_TOUCH = (
    update(Token)
    .where(_TOKENS.id == bindparam("token_id"))
    .values(last_used_at=bindparam("moment"))
)


def current_principal(request: Request, db: DbSession) -> Principal:
    """The caller named by the ``Authorization: Bearer TOKEN`` header, or 401.

    One prepared statement on the session's connection, no ORM objects; ``last_used_at`` is
    written at most once a minute per token, so a read stays a read.
    """
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthenticated("This needs a bearer token: log in at /api/v1/auth/login.")
    connection = db.connection()
    row = connection.execute(_PRINCIPAL, {"token_hash": token_hash(token.strip())}).first()
    if row is None:
        raise _unauthenticated("The token is not known.")
    token_id, kind, expires_at, last_used_at, revoked_at, user_id, username, role, enabled = row
    moment = now()
    # A disabled user's sessions are revoked too: the reason said is that the user is disabled.
    if not enabled:
        raise _unauthenticated("The user is disabled.")
    if revoked_at is not None:
        raise _unauthenticated("The token was revoked (logged out).")
    if expires_at is not None and expires_at <= moment:
        raise _unauthenticated("The token has expired: log in again.")
    if last_used_at is None or moment - last_used_at > LAST_USED_RESOLUTION:
        connection.execute(_TOUCH, {"token_id": token_id, "moment": moment})
        db.commit()
    return Principal(user_id, username, role, token_id, kind)


CurrentUser = Annotated[Principal, Depends(current_principal)]


def require(*roles: Role) -> Callable[[Principal], Awaitable[Principal]]:
    allowed = {str(r) for r in roles} | {str(Role.ADMINISTRATOR)}

    async def check(principal: CurrentUser) -> Principal:
        if principal.role not in allowed:
            raise ForbiddenError(
                f"The role {principal.role!r} may not do this; it needs "
                f"{' or '.join(sorted(allowed))}."
            )
        return principal

    return check


Admin = Annotated[Principal, Depends(require(Role.ADMINISTRATOR))]


async def delete_comment(
    comment: Annotated[str, Query(max_length=1000, description="save comment")] = "",
) -> str:
    """The save comment of a change that has no body (DELETE, actions)."""
    return comment


DeleteComment = Annotated[str, Depends(delete_comment)]


def jsonable(value: Any) -> Any:
    """A value as it is stored in the history (times as ISO 8601)."""
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return value
