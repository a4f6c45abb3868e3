"""What the auth endpoints take and give: one schema family per entity."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

USERNAME = r"^[a-z0-9][a-z0-9._-]{0,63}$"
Password = Annotated[str, Field(min_length=12, max_length=256)]
RoleName = Literal["administrator", "dns-admin", "dhcp-admin", "read-only"]
Comment = Annotated[str, Field(max_length=1000, description="save comment")]


class Input(BaseModel):
    """Base of request bodies: unknown fields and wrong types are refused, never coerced."""

    model_config = ConfigDict(extra="forbid", strict=True)


class Login(Input):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)
    expires_in: int | None = Field(
        default=None,
        ge=1,
        le=30 * 86400,
        description="seconds; at most the session_lifetime_seconds setting",
    )


class PasswordChange(Input):
    current_password: str = Field(min_length=1, max_length=256)
    new_password: Password
    comment: Comment = ""


class UserCreate(Input):
    username: str = Field(pattern=USERNAME, max_length=64)
    display_name: str = Field(default="", max_length=128)
    role: RoleName
    password: Password
    enabled: bool = True
    comment: Comment = ""


class UserUpdate(Input):
    display_name: str | None = Field(default=None, max_length=128)
    role: RoleName | None = None
    password: Password | None = None
    enabled: bool | None = None
    comment: Comment = ""


class ApiTokenCreate(Input):
    name: str = Field(min_length=1, max_length=128)
    user_id: int | None = Field(
        default=None, ge=1, le=2**31 - 1, description="administrators only: another user's"
    )
    expires_in_days: int | None = Field(default=None, ge=1, le=3650, description="none: never")
    comment: Comment = ""
