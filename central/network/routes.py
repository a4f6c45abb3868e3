"""``/api/v1/appliance/network``: addresses, routes, resolvers and hostname of this appliance."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from central.core.deps import Admin, CurrentUser, DbSession
from central.core.problems import RESPONSES
from central.network import service
from central.network.service import NetworkUpdate

router = APIRouter(prefix="/api/v1/appliance", tags=["appliance-network"], responses=RESPONSES)


@router.get("/network")
def get_network(request: Request, db: DbSession, _user: CurrentUser) -> dict[str, Any]:
    """The live network of Central's own appliance, read with pyroute2 by its agent.

    ``address``/``address6`` are the management addresses; ``extra_addresses`` and
    ``routes`` what administrators added; ``addresses`` every address of the interface.
    """
    return service.read(db, request.app.state.config)


@router.put("/network")
def put_network(
    request: Request, db: DbSession, admin: Admin, body: NetworkUpdate
) -> dict[str, Any]:
    """Change hostname, extra addresses, routes and/or resolvers (administrators).

    Lists replace the current ones; fields left out stay. Applied to the live network at
    once, all or nothing, and kept across restarts; recorded in the history with the comment.
    An address must be usable on its network and given once; a gateway must be reachable
    on-link; the management address cannot be changed here.
    """
    return service.update(db, request.app.state.config, admin, body)
