"""``/api/v1/service-events``: recent crashes and FATAL states of the appliance's programs."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from central.core.deps import CurrentUser
from central.core.problems import RESPONSES
from central.events.store import read_events

router = APIRouter(prefix="/api/v1", tags=["service events"], responses=RESPONSES)


@router.get("/service-events")
def list_service_events(
    request: Request,
    _user: CurrentUser,
    program: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """Recent unexpected exits and FATAL states, newest first."""
    path = request.app.state.config.root.service_events
    items = read_events(path, program=program, limit=limit)
    return {"items": items, "count": len(items), "total": len(items)}
