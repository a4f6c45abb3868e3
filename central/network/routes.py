"""``/api/v1/appliance/network``: addresses, routes, resolvers and hostname of this appliance."""

from __future__ import annotations

from fastapi import APIRouter, Request

from central.core.deps import Admin, CurrentUser, DbSession
from central.core.problems import RESPONSES
from central.network import service
from central.network.service import NetworkUpdate
from services.common.network import NetworkSettings

router = APIRouter(prefix="/api/v1/appliance", tags=["appliance-network"], responses=RESPONSES)


@router.get("/network")
def get_network(request: Request, db: DbSession, _user: CurrentUser) -> NetworkSettings:
    """The live network of Central's own appliance, read with pyroute2 by its agent.

    ``address``/``address6`` are the management addresses; ``extra_addresses`` and
    ``routes`` what administrators added; ``addresses`` every address of the interface.
    """
    return service.read(db, request.app.state.config)


@router.put("/network")
def put_network(
    request: Request, db: DbSession, admin: Admin, body: NetworkUpdate
) -> NetworkSettings:
    """Change hostname, extra addresses, routes and/or resolvers (administrators).

    Lists replace the current ones; fields left out stay. Applied to the live network at
    once, all or nothing, and kept across restarts; recorded in the history with the comment.
    An address must be usable on its network and given once; a gateway must be reachable
    on-link; the management address cannot be changed here. 422 names every wrong field;
    502 when the kernel refused a step (the network is then as it was).
    """
    return service.update(db, request.app.state.config, admin, body)
