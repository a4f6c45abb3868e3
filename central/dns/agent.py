"""The typed dns-agent client of ``services.common.dns.client`` over Central's pinned mutual TLS.

Every call goes through ``central.registry.agent_client.PinnedTransport``: the agent must show
the certificate pinned at its enrolment before a byte of the request is sent.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from central.core.config import CentralConfig
from central.registry import agent_client
from central.registry.models import Server
from central.registry.service import get_server
from services.common.dns.client import DnsAgentClient
from services.common.errors import ValidationError


class PinnedDnsClient(DnsAgentClient):
    """A ``DnsAgentClient`` whose requests travel over the pinned mutual TLS of the registry."""

    def __init__(
        self, config: CentralConfig, agent: agent_client.AgentAddress, timeout: float = 300.0
    ) -> None:
        super().__init__(agent_client.PinnedTransport(config.root, agent), timeout=timeout)
        self.config = config
        self.agent_address = agent


def not_dns(server: Server, field: str = "server_id") -> ValidationError:
    """The refusal of a zone, key or option route given a server that is not a DNS server
    (BIND); a caching server (Unbound) is told where its own settings are."""
    if server.kind == "caching":
        return ValidationError(
            f"Server {server.id} ({server.name}) is a caching DNS server (Unbound): it has no "
            "zones, keys or BIND options.",
            field=field,
            hint=f"its forwarders, local zones and other settings are at "
            f"/api/v1/caching/servers/{server.id}/settings",
        )
    return ValidationError(
        f"Server {server.id} ({server.name}) is a {server.kind} server, not a DNS server.",
        field=field,
    )


def require_dns(db: Session, server_id: int) -> Server:
    """DNS server ``server_id`` (404 if there is none, 422 if it is of another kind)."""
    server = get_server(db, server_id)
    if server.kind != "dns":
        raise not_dns(server)
    return server


def client_for(db: Session, config: CentralConfig, server_id: int) -> PinnedDnsClient:
    """The client of the dns-agent of DNS server ``server_id`` (422 if it is not one)."""
    server = require_dns(db, server_id)
    return PinnedDnsClient(
        config, agent_client.AgentAddress(server.address, server.port, server.fingerprint)
    )
