"""``/api/v1/service-events``: recent crashes and FATAL states of the appliance's programs."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from central.core.deps import CurrentUser
from central.core.problems import RESPONSES
from central.events.store import ServiceEvent, read_events

router = APIRouter(prefix="/api/v1", tags=["service events"], responses=RESPONSES)


class ServiceEventList(BaseModel):
    """The newest events, newest first."""

    items: list[ServiceEvent]
    count: int
    total: int


@router.get("/service-events")
def list_service_events(
    request: Request,
    _user: CurrentUser,
    program: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> ServiceEventList:
    """Recent unexpected exits and FATAL states, newest first."""
    path = request.app.state.config.root.service_events
    items = [
        ServiceEvent.model_validate(e) for e in read_events(path, program=program, limit=limit)
    ]
    return ServiceEventList(items=items, count=len(items), total=len(items))
