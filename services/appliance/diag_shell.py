"""The appliance-agent's ``/diag-shell`` endpoints: who may log in to the diagnostic shell.

Central calls them (mutual TLS) to set the ``diag`` password and authorized keys; the agent
stores them with :mod:`services.shell.credentials` in ``etc/burrow/diag-shell.json``, which
the shell reads at every login. The password is stored as an scrypt hash and never returned.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from services.common.errors import ValidationError
from services.common.paths import StateRoot
from services.shell.credentials import set_credentials
from services.shell.settings import DiagShellSettings

router = APIRouter(prefix="/diag-shell", tags=["diag-shell"])

PublicKey = Annotated[str, Field(min_length=16, max_length=16384)]


class DiagShellChange(BaseModel):
    """A new password and/or a new list of authorized keys (``null``: leave as it is)."""

    model_config = ConfigDict(extra="forbid")
    password: str | None = Field(default=None, min_length=12, max_length=256)
    authorized_keys: list[PublicKey] | None = Field(default=None, max_length=100)


def public_view(settings: DiagShellSettings) -> dict[str, Any]:
    """What may be shown of the shell's credentials: never the password hash."""
    return {
        "user": "diag",
        "password_set": bool(settings.password),
        "authorized_keys": list(settings.authorized_keys),
        "idle_timeout": settings.idle_timeout,
    }


def _root(request: Request) -> StateRoot:
    root: StateRoot = request.app.state.root
    return root


@router.get("")
def get_diag_shell(request: Request) -> dict[str, Any]:
    return public_view(DiagShellSettings.load(_root(request)))


@router.put("", response_model=None)
def put_diag_shell(request: Request, change: DiagShellChange) -> dict[str, Any] | JSONResponse:
    try:
        updated = set_credentials(
            _root(request), password=change.password, authorized_keys=change.authorized_keys
        )
    except ValidationError as exc:
        return JSONResponse(
            {"title": "Invalid diag-shell credentials", "status": 422, "detail": exc.message,
             "field": exc.field, "code": exc.code},
            status_code=422,
            media_type="application/problem+json",
        )  # fmt: skip
    return public_view(updated)
