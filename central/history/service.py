"""Recording changes: called inside the transaction of the change itself, so both or neither."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from central.core.deps import Principal
from central.history import hooks
from central.history.models import Change

SYSTEM = "system"


def record(
    db: Session,
    actor: Principal | str,
    object_type: str,
    object_id: object,
    action: str,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    comment: str = "",
) -> Change:
    """Add one history entry to ``db``'s transaction (the caller commits)."""
    if isinstance(actor, Principal):
        name, actor_id = actor.username, actor.user_id
    else:
        name, actor_id = actor, None
    change = Change(
        actor=name,
        actor_id=actor_id,
        object_type=object_type,
        object_id=str(object_id),
        action=action,
        before=before,
        after=after,
        comment=comment,
    )
    db.add(change)
    hooks.mark(db)
    return change


class ChangePublic(BaseModel):
    """One history entry as the API shows it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    at: dt.datetime
    actor: str = Field(description="the user name, or 'system'")
    actor_id: int | None
    object_type: str
    object_id: str
    action: str
    before: dict[str, Any] | None = Field(description="the object before; none when made")
    after: dict[str, Any] | None = Field(description="the object after; none when deleted")
    comment: str


def public(change: Change) -> ChangePublic:
    return ChangePublic.model_validate(change)
