"""Central's client of a caching appliance's dns-agent: the typed client of
``services.common.caching.client`` over the pinned mutual TLS of the registry.

The agent serves ``GET``/``PUT /caching/settings`` (a ``CachingSettings`` document, checked
with unbound-checkconf and applied by reloading Unbound), ``GET /caching/stats`` and
``POST /caching/flush``; answers are mapped by ``services.common.agent_client`` as for every
agent, so a 422 keeps its status and every problem with its field.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from central.core.config import CentralConfig
from central.registry import agent_client
from central.registry.models import Server
from central.registry.service import get_server
from services.common.caching.client import CachingAgentClient
from services.common.errors import ValidationError

__all__ = ["CachingAgentClient", "caching_server", "client_for"]


def caching_server(db: Session, server_id: int) -> Server:
    """Caching server ``server_id`` (404 if there is none, 422 if it is of another kind)."""
    server = get_server(db, server_id)
    if server.kind != "caching":
        hint = None
        if server.kind == "dns":
            hint = f"a DNS server's options are at /api/v1/dns/servers/{server.id}/options"
        raise ValidationError(
            f"Server {server.id} ({server.name}) is a {server.kind} server, not a caching DNS "
            "server.",
            field="server_id",
            hint=hint,
        )
    return server


def client_for(db: Session, config: CentralConfig, server_id: int) -> CachingAgentClient:
    """The client of the dns-agent of caching server ``server_id``."""
    server = caching_server(db, server_id)
    address = agent_client.AgentAddress(server.address, server.port, server.fingerprint)
    return CachingAgentClient(agent_client.PinnedTransport(config.root, address))
