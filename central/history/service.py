"""Recording changes: called inside the transaction of the change itself, so both or neither."""

from __future__ import annotations

from typing import Any

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


def public(change: Change) -> dict[str, Any]:
    return {
        "id": change.id,
        "at": change.at.isoformat(),
        "actor": change.actor,
        "actor_id": change.actor_id,
        "object_type": change.object_type,
        "object_id": change.object_id,
        "action": change.action,
        "before": change.before,
        "after": change.after,
        "comment": change.comment,
    }
