"""``/api/v1/history``: every change, system-wide or of one object."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from sqlalchemy import String, cast, func, select
from sqlalchemy.orm import InstrumentedAttribute

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
#: The text of the states before and after: ``content~www.example.com`` finds every change
#: whose before or after names it (a record's name, a user's, a scope's subnet).
CONTENT: Any = (
    func.coalesce(cast(Change.before, String), "")
    + " "
    + func.coalesce(cast(Change.after, String), "")
)
SEARCH_FIELDS: dict[str, InstrumentedAttribute[Any]] = {**FIELDS, "content": CONTENT}
#: Logins (``session`` entries) apart from the changes.
LOGIN_TYPE = "session"
Kind = Annotated[
    Literal["all", "changes", "logins"],
    Query(description="changes: leave logins out; logins: only logins; all (the default)"),
]
ObjectType = Annotated[str, Path(pattern=r"^[a-z][a-z0-9-]{0,31}$")]
ObjectId = Annotated[str, Path(pattern=r"^[A-Za-z0-9._:-]{1,64}$")]


@router.get("/history")
def list_history(
    db: DbSession, _user: CurrentUser, params: ListQuery, kind: Kind = "all"
) -> Page[ChangePublic]:
    """Every change, newest first unless ``sort`` says otherwise.

    Filter e.g. ``object_type:user actor:admin comment~typo content~www.example.com``; a
    plain word is looked for in the type, the actor, the comment and the states before and
    after. ``kind=changes`` leaves the logins out, ``kind=logins`` shows only them.
    """
    query = select(Change)
    if kind == "changes":
        query = query.where(Change.object_type != LOGIN_TYPE)
    elif kind == "logins":
        query = query.where(Change.object_type == LOGIN_TYPE)
    rows, total = page(
        db, query, params, SEARCH_FIELDS, ("object_type", "actor", "comment", "content"), "-id"
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
