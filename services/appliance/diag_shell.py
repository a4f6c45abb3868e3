"""The appliance-agent's ``/diag-shell`` endpoints: who may log in to the diagnostic shell.

Central calls them (mutual TLS) to set the ``diag`` password and authorized keys; the agent
stores them with :mod:`services.shell.credentials` in ``etc/burrow/diag-shell.json``, which
the shell reads at every login. The password is stored as an scrypt hash and never returned.
Bodies and answers are the models of ``services.common.appliance.contract``.
"""

from __future__ import annotations

from fastapi import APIRouter, Request

from services.common import problems
from services.common.appliance.contract import DiagShellChange, DiagShellView
from services.common.paths import StateRoot
from services.shell.credentials import set_credentials
from services.shell.settings import DiagShellSettings

router = APIRouter(prefix="/diag-shell", tags=["diag-shell"], responses=problems.RESPONSES)


def public_view(settings: DiagShellSettings) -> DiagShellView:
    """What may be shown of the shell's credentials: never the password hash."""
    return DiagShellView(
        user="diag",
        password_set=bool(settings.password),
        authorized_keys=list(settings.authorized_keys),
        idle_timeout=settings.idle_timeout,
    )


def _root(request: Request) -> StateRoot:
    root: StateRoot = request.app.state.root
    return root


@router.get("")
def get_diag_shell(request: Request) -> DiagShellView:
    """Whether ``diag`` has a password and which public keys are authorized."""
    return public_view(DiagShellSettings.load(_root(request)))


@router.put("")
def put_diag_shell(request: Request, change: DiagShellChange) -> DiagShellView:
    """Set the password and/or replace the authorized keys; 422 names the unusable field."""
    updated = set_credentials(
        _root(request), password=change.password, authorized_keys=change.authorized_keys
    )
    return public_view(updated)
