"""What the auth endpoints take and give: one schema family per entity.

Request bodies derive from ``services.common.model.Input`` (unknown fields refused, nothing
coerced); the ``*Public`` models are the answers, read from the rows themselves.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from services.common.model import Input

USERNAME = r"^[a-z0-9][a-z0-9._-]{0,63}$"
Password = Annotated[str, Field(min_length=12, max_length=256)]
RoleName = Literal["administrator", "dns-admin", "dhcp-admin", "ipam-admin", "read-only"]
TokenKind = Literal["session", "api"]
Comment = Annotated[str, Field(max_length=1000, description="save comment")]


# --- requests ----------------------------------------------------------------------------
class Login(Input):
    """A user name and password for a session token."""

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)
    expires_in: int | None = Field(
        default=None,
        ge=1,
        le=30 * 86400,
        description="seconds; at most the session_lifetime_seconds setting",
    )


class PasswordChange(Input):
    """One's own new password, proven with the current one."""

    current_password: str = Field(min_length=1, max_length=256)
    new_password: Password
    comment: Comment = ""


class UserCreate(Input):
    """A new user."""

    username: str = Field(pattern=USERNAME, max_length=64)
    display_name: str = Field(default="", max_length=128)
    role: RoleName
    password: Password
    enabled: bool = True
    comment: Comment = ""


class UserUpdate(Input):
    """A change of some of a user's fields; the others stay as they are."""

    display_name: str | None = Field(default=None, max_length=128)
    role: RoleName | None = None
    password: Password | None = None
    enabled: bool | None = None
    comment: Comment = ""


class ApiTokenCreate(Input):
    """A long-lived API token for a script."""

    name: str = Field(min_length=1, max_length=128)
    user_id: int | None = Field(
        default=None, ge=1, le=2**31 - 1, description="administrators only: another user's"
    )
    expires_in_days: int | None = Field(default=None, ge=1, le=3650, description="none: never")
    comment: Comment = ""


# --- answers -----------------------------------------------------------------------------
class UserPublic(BaseModel):
    """A user as the API shows it (never its password hash)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    display_name: str
    role: RoleName
    enabled: bool
    created_at: dt.datetime
    updated_at: dt.datetime


class Me(UserPublic):
    """The caller, and the kind of token it called with."""

    token: TokenKind


class LoginAnswer(BaseModel):
    """A session token for ``Authorization: Bearer TOKEN``."""

    token: str = Field(description="the secret; shown in this answer only")
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the scheme, not a secret
    expires_at: dt.datetime
    user: UserPublic


class TokenPublic(BaseModel):
    """A session or API token as the API shows it (never its secret)."""

    id: int
    kind: TokenKind
    name: str
    user_id: int
    username: str
    created_at: dt.datetime
    expires_at: dt.datetime | None
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None


class ApiTokenCreated(TokenPublic):
    """A new API token with its secret, which is in this answer only."""

    token: str = Field(description="the secret; shown in this answer only")
