"""The typed dns-agent client of ``services.common.dns.client`` over Central's pinned mutual TLS.

Every call goes through ``central.registry.agent_client.PinnedTransport``: the agent must show
the certificate pinned at its enrolment before a byte of the request is sent.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from central.core.config import CentralConfig
from central.registry import agent_client
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


def client_for(db: Session, config: CentralConfig, server_id: int) -> PinnedDnsClient:
    """The client of the dns-agent of DNS server ``server_id`` (422 if it is not one)."""
    server = get_server(db, server_id)
    if server.kind != "dns":
        raise ValidationError(
            f"Server {server_id} is a {server.kind} server, not a DNS server.", field="server_id"
        )
    return PinnedDnsClient(
        config, agent_client.AgentAddress(server.address, server.port, server.fingerprint)
    )
