"""The typed appliance-agent client of ``services.common.appliance.client`` over Central's
pinned mutual TLS.

Every call goes through ``central.registry.agent_client.PinnedTransport``: the agent must show
the certificate pinned at its enrolment before a byte of the request is sent. Answers map as
for every agent: the agent's 4xx keeps its status and problems; unreachable is 503 with
``Retry-After``.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from central.core.config import CentralConfig
from central.registry import agent_client
from central.registry.models import Server
from central.registry.service import get_server
from services.common.appliance.client import ApplianceAgentClient
from services.common.errors import NotFoundError, UnavailableError, ValidationError


class PinnedApplianceClient(ApplianceAgentClient):
    """An ``ApplianceAgentClient`` whose requests travel over the registry's pinned mTLS."""

    def __init__(self, config: CentralConfig, server: Server) -> None:
        address = agent_client.AgentAddress(server.address, server.port, server.fingerprint)
        super().__init__(agent_client.PinnedTransport(config.root, address))
        self.server_id = server.id


def local_server(db: Session) -> Server:
    """The appliance-agent of Central's own appliance (404 when Central runs on none)."""
    server = db.scalar(select(Server).where(Server.local.is_(True), Server.kind == "appliance"))
    if server is None:
        raise NotFoundError(
            "This Central runs on no appliance: it has no appliance-agent of its own."
        )
    return server


def local_client(db: Session, config: CentralConfig) -> PinnedApplianceClient:
    """The client of this appliance's own appliance-agent (503 until it has enrolled)."""
    server = local_server(db)
    if not server.fingerprint:
        raise UnavailableError(
            "This appliance's appliance-agent has not enrolled yet.",
            hint="it enrols at its first start; try again in a few seconds",
        )
    return PinnedApplianceClient(config, server)


def client_for(db: Session, config: CentralConfig, server_id: int) -> PinnedApplianceClient:
    """The client of the appliance-agent of server ``server_id`` (422 if it is not one)."""
    server = get_server(db, server_id)
    if server.kind != "appliance":
        raise ValidationError(
            f"Server {server_id} is a {server.kind} server, not an appliance.", field="server_id"
        )
    return PinnedApplianceClient(config, server)
