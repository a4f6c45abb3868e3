"""Typed dependencies of the routes: the database session, the caller and role checks.

Roles: ``administrator`` may do everything; ``dns-admin`` and ``dhcp-admin`` change their
own domain (and read everything); ``read-only`` reads. A role check runs before the request
body is validated, so a caller without the role gets 403 whatever it sent.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from sqlalchemy import select
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
    READ_ONLY = "read-only"


@dataclass(frozen=True)
class Principal:
    """The authenticated caller of one request."""

    user_id: int
    username: str
    role: str
    token_id: int
    token_kind: str


def get_db(request: Request) -> Iterator[Session]:
    with request.app.state.sessions() as session:
        yield session


DbSession = Annotated[Session, Depends(get_db)]


def _unauthenticated(message: str) -> ProblemError:
    return ProblemError(401, message, headers={"WWW-Authenticate": "Bearer"})


def current_principal(request: Request, db: DbSession) -> Principal:
    """The caller named by the ``Authorization: Bearer TOKEN`` header, or 401."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthenticated("This needs a bearer token: log in at /api/v1/auth/login.")
    row = db.execute(
        select(Token, User)
        .join(User, User.id == Token.user_id)
        .where(Token.token_hash == token_hash(token.strip()))
    ).first()
    if row is None:
        raise _unauthenticated("The token is not known.")
    record, user = row
    moment = now()
    if record.revoked_at is not None:
        raise _unauthenticated("The token was revoked (logged out).")
    if record.expires_at is not None and record.expires_at <= moment:
        raise _unauthenticated("The token has expired: log in again.")
    if not user.enabled:
        raise _unauthenticated("The user is disabled.")
    if record.last_used_at is None or moment - record.last_used_at > LAST_USED_RESOLUTION:
        record.last_used_at = moment
        db.commit()
    return Principal(user.id, user.username, user.role, record.id, record.kind)


CurrentUser = Annotated[Principal, Depends(current_principal)]


def require(*roles: Role) -> Callable[[Principal], Principal]:
    allowed = {str(r) for r in roles} | {str(Role.ADMINISTRATOR)}

    def check(principal: CurrentUser) -> Principal:
        if principal.role not in allowed:
            raise ForbiddenError(
                f"The role {principal.role!r} may not do this; it needs "
                f"{' or '.join(sorted(allowed))}."
            )
        return principal

    return check


Admin = Annotated[Principal, Depends(require(Role.ADMINISTRATOR))]


def delete_comment(
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
