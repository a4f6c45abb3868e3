"""The one convention of every list endpoint: ``filter``, ``sort``, ``offset``, ``limit``, total.

``filter`` is a space-separated list of terms, all of which must hold:

- ``field:value``  the field equals the value (``role:read-only``, ``enabled:true``)
- ``field~text``   the field contains the text, ignoring case (``username~adm``)
- ``text``         one of the resource's text fields contains the text

``sort`` is a comma-separated list of fields, ``-field`` for descending (``-created_at,id``).
The answer is ``{"items": [...], "total": N, "offset": O, "limit": L}`` where ``total``
counts every match, not only the page: ``Page[ItemModel]`` is its response model
(``Page[UserPublic].of(items, total, params)``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Generic, Self, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel, Field
from sqlalchemy import Boolean, DateTime, Integer, Select, String, cast, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from services.common.errors import ValidationError

MAX_LIMIT = 1000

Item = TypeVar("Item")


@dataclass(frozen=True)
class ListParams:
    """What a client asked of a list."""

    filter: str | None
    sort: str | None
    offset: int
    limit: int


async def list_params(
    filter: Annotated[str | None, Query(max_length=500, description="filter terms")] = None,
    sort: Annotated[
        str | None, Query(max_length=200, description="fields, -field descending")
    ] = None,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
) -> ListParams:
    """The list parameters (on the event loop: no worker thread for four query values)."""
    return ListParams(filter=filter, sort=sort, offset=offset, limit=limit)


ListQuery = Annotated[ListParams, Depends(list_params)]


class Page(BaseModel, Generic[Item]):
    """One page of a list: the items and how many match in all."""

    items: list[Item]
    total: int = Field(description="every match, not only this page")
    offset: int
    limit: int

    @classmethod
    def of(cls, items: Sequence[Item], total: int, params: ListParams) -> Self:
        """The page ``params`` asked for."""
        return cls(items=list(items), total=total, offset=params.offset, limit=params.limit)

    @classmethod
    def whole(cls, items: Sequence[Item]) -> Self:
        """Every item on one page (lists that are not paged)."""
        return cls(items=list(items), total=len(items), offset=0, limit=len(items))


def _value(column: InstrumentedAttribute[Any], raw: str) -> Any:
    kind = column.type
    if isinstance(kind, Boolean):
        if raw.lower() not in ("true", "false"):
            raise ValidationError(f"{column.key} takes true or false, not {raw!r}", field="filter")
        return raw.lower() == "true"
    if isinstance(kind, Integer):
        try:
            return int(raw)
        except ValueError:
            raise ValidationError(
                f"{column.key} takes a whole number, not {raw!r}", field="filter"
            ) from None
    if isinstance(kind, DateTime) or getattr(kind, "impl", None).__class__ is DateTime:
        try:
            return dt.datetime.fromisoformat(raw)
        except ValueError:
            raise ValidationError(
                f"{column.key} takes an ISO 8601 time, not {raw!r}", field="filter"
            ) from None
    return raw


def page(
    db: Session,
    query: Select[Any],
    params: ListParams,
    fields: dict[str, InstrumentedAttribute[Any]],
    text_fields: Sequence[str],
    default_sort: str = "id",
) -> tuple[list[Any], int]:
    """Apply ``params`` to ``query`` (one entity); return the page and the total count."""
    if params.filter:
        for term in params.filter.split():
            name, op, raw = _split(term)
            if not op:
                query = query.where(
                    or_(*(fields[f].ilike(f"%{_escape(term)}%", escape="\\") for f in text_fields))
                )
                continue
            if name not in fields:
                raise ValidationError(
                    f"cannot filter on {name!r}; known fields: {', '.join(sorted(fields))}",
                    field="filter",
                )
            column = fields[name]
            if op == ":":
                query = query.where(column == _value(column, raw))
            else:
                target = column if isinstance(column.type, String) else cast(column, String)
                query = query.where(func.lower(target).contains(raw.lower(), autoescape=True))
    total = db.scalar(select(func.count()).select_from(query.subquery())) or 0
    order = []
    names = []
    for item in (params.sort or default_sort).split(","):
        item = item.strip()
        name = item.lstrip("-")
        if name not in fields:
            raise ValidationError(
                f"cannot sort by {name!r}; known fields: {', '.join(sorted(fields))}",
                field="sort",
            )
        names.append(name)
        order.append(fields[name].desc() if item.startswith("-") else fields[name].asc())
    if "id" in fields and "id" not in names:
        order.append(fields["id"].asc())  # a stable order for paging
    rows = db.scalars(query.order_by(*order).offset(params.offset).limit(params.limit)).all()
    return list(rows), int(total)


def _split(term: str) -> tuple[str, str, str]:
    for i, char in enumerate(term):
        if char in ":~":
            return term[:i], char, term[i + 1 :]
    return term, "", ""


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def listing(items: list[dict[str, Any]], total: int, params: ListParams) -> dict[str, Any]:
    return {"items": items, "total": total, "offset": params.offset, "limit": params.limit}
