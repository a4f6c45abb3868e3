"""Set and read an appliance's diagnostic-shell credentials through its appliance-agent.

The change goes to the agent with the typed ``ApplianceAgentClient`` over pinned mutual TLS
(the agent's refusals come back with their status and problems: its 404 stays 404); the
history records it with the save comment, showing whether a password is set and which keys
are authorized, never the password.
"""

from __future__ import annotations

from pydantic import Field
from sqlalchemy.orm import Session

from central.appliance.agent import client_for
from central.core.config import CentralConfig
from central.core.deps import Principal
from central.history import service as history
from services.common.appliance.contract import DiagShellChange, DiagShellView
from services.common.errors import ValidationError


class DiagShellUpdate(DiagShellChange):
    """New credentials for ``diag``: a password, a list of authorized keys, or both."""

    comment: str = Field(default="", max_length=1000, description="save comment")


def read(db: Session, config: CentralConfig, server_id: int) -> DiagShellView:
    with client_for(db, config, server_id) as agent:
        return agent.diag_shell()


def update(
    db: Session, config: CentralConfig, actor: Principal, server_id: int, change: DiagShellUpdate
) -> DiagShellView:
    if change.password is None and change.authorized_keys is None:
        raise ValidationError("Give a password, authorized keys or both.", field="password")
    wanted = DiagShellChange.model_validate(
        change.model_dump(include={"password", "authorized_keys"}, exclude_none=True)
    )
    with client_for(db, config, server_id) as agent:
        before = agent.diag_shell()
        after = agent.set_diag_shell(wanted)
    view = after.model_dump(mode="json")
    if change.password is not None:
        view["password_changed"] = True
    history.record(
        db, actor, "diag-shell", server_id, "update", before=before.model_dump(mode="json"),
        after=view, comment=change.comment,
    )  # fmt: skip
    db.commit()
    return after
