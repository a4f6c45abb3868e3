"""Central's client of a caching appliance's dns-agent, over the pinned mutual TLS of the
registry.

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
from services.common.agent_client import AgentClient
from services.common.caching.contract import (
    CacheFlush,
    CacheFlushed,
    CacheStats,
    CachingSettings,
)
from services.common.errors import ValidationError


class CachingAgentClient(AgentClient):
    """The dns-agent of one caching appliance, over any ``Transport``."""

    agent = "dns-agent"
    #: A change is checked with unbound-checkconf and Unbound reloaded: seconds, not minutes.
    timeout = 60.0

    def settings(self) -> CachingSettings:
        return self.model(CachingSettings, "GET", "/caching/settings")

    def set_settings(self, settings: CachingSettings) -> CachingSettings:
        # Every field is sent, defaults too: the agent stores the whole document it is given.
        return self.model(
            CachingSettings, "PUT", "/caching/settings", settings.model_dump(mode="json")
        )

    def stats(self) -> CacheStats:
        return self.model(CacheStats, "GET", "/caching/stats")

    def flush(self, request: CacheFlush) -> CacheFlushed:
        return self.model(CacheFlushed, "POST", "/caching/flush", request.model_dump(mode="json"))


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
