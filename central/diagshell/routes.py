"""``/api/v1/servers/{id}/diag-shell``: who may log in to an appliance's diagnostic shell."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request

from central.core.deps import Admin, CurrentUser, DbSession
from central.core.problems import RESPONSES
from central.diagshell import service
from central.diagshell.service import DiagShellUpdate
from services.common.appliance.contract import DiagShellView

router = APIRouter(prefix="/api/v1", tags=["diag-shell"], responses=RESPONSES)
ServerId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.get("/servers/{server_id}/diag-shell")
def get_diag_shell(
    request: Request, db: DbSession, _user: CurrentUser, server_id: ServerId
) -> DiagShellView:
    """Whether ``diag`` has a password and which (public) keys are authorized."""
    return service.read(db, request.app.state.config, server_id)


@router.put("/servers/{server_id}/diag-shell")
def put_diag_shell(
    request: Request, db: DbSession, admin: Admin, server_id: ServerId, body: DiagShellUpdate
) -> DiagShellView:
    """Set the ``diag`` password and/or replace its authorized keys (administrators).

    Applied at the next login; recorded in the history without the password.
    """
    return service.update(db, request.app.state.config, admin, server_id, body)
