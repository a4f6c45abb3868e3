"""``/api/v1/history``: every change, system-wide or of one object."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from sqlalchemy import select

from central.core.deps import CurrentUser, DbSession
from central.core.listing import ListQuery, Page, page
from central.core.problems import RESPONSES
from central.history.models import Change
from central.history.service import ChangePublic, public

router = APIRouter(prefix="/api/v1", tags=["history"], responses=RESPONSES)

FIELDS = {
    "id": Change.id,
    "at": Change.at,
    "actor": Change.actor,
    "object_type": Change.object_type,
    "object_id": Change.object_id,
    "action": Change.action,
    "comment": Change.comment,
}
ObjectType = Annotated[str, Path(pattern=r"^[a-z][a-z0-9-]{0,31}$")]
ObjectId = Annotated[str, Path(pattern=r"^[A-Za-z0-9._:-]{1,64}$")]


@router.get("/history")
def list_history(db: DbSession, _user: CurrentUser, params: ListQuery) -> Page[ChangePublic]:
    """Every change, newest first unless ``sort`` says otherwise.

    Filter e.g. ``object_type:user actor:admin comment~typo``.
    """
    rows, total = page(
        db, select(Change), params, FIELDS, ("object_type", "actor", "comment"), "-id"
    )
    return Page[ChangePublic].of([public(r) for r in rows], total, params)


@router.get("/history/{object_type}/{object_id}")
def object_history(
    db: DbSession,
    _user: CurrentUser,
    params: ListQuery,
    object_type: ObjectType,
    object_id: ObjectId,
) -> Page[ChangePublic]:
    """The changes of one object, e.g. ``/history/user/3``, newest first."""
    query = select(Change).where(Change.object_type == object_type, Change.object_id == object_id)
    rows, total = page(db, query, params, FIELDS, ("actor", "comment"), "-id")
    return Page[ChangePublic].of([public(r) for r in rows], total, params)
