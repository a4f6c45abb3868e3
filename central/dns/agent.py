"""The typed dns-agent client of ``services.common.dns.client`` over Central's pinned mutual TLS.

Every call goes through ``central.registry.agent_client.call``: the agent must show the
certificate pinned at its enrolment before a byte of the request is sent.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel
from sqlalchemy.orm import Session

from central.core.config import CentralConfig
from central.registry import agent_client
from central.registry.service import get_server
from services.common.dns.client import DnsAgentClient
from services.common.errors import (
    BurrowError,
    ConflictError,
    DaemonError,
    NotFoundError,
    ValidationError,
)

_ERRORS: dict[int, type[BurrowError]] = {
    404: NotFoundError,
    409: ConflictError,
    422: ValidationError,
}


class PinnedDnsClient(DnsAgentClient):
    """A ``DnsAgentClient`` whose requests travel over the pinned mutual TLS of the registry."""

    def __init__(
        self, config: CentralConfig, agent: agent_client.AgentAddress, timeout: float = 300.0
    ) -> None:
        self.config = config
        self.agent = agent
        self.timeout = timeout

    def close(self) -> None:
        """Nothing to close: every call opens and closes its own connection."""

    def _call(self, method: str, path: str, body: BaseModel | None = None) -> Any:
        data = None
        if body is not None:
            data = json.dumps(body.model_dump(mode="json", exclude_unset=True)).encode()
        try:
            status, answer = agent_client.call(
                self.config.root, self.agent, method, path, data, timeout=self.timeout
            )
        except OSError as exc:
            raise DaemonError(
                f"The dns-agent at {self.agent.address}:{self.agent.port} cannot be reached: {exc}"
            ) from exc
        if status < 400:
            return answer
        body_dict = answer if isinstance(answer, dict) else {"detail": str(answer)[:200]}
        kind = _ERRORS.get(status, DaemonError)
        detail = str(body_dict.get("detail") or f"HTTP {status}")
        error = kind(f"The dns-agent refused: {detail}", field=body_dict.get("field"))
        error.problems = list(body_dict.get("errors") or [])  # type: ignore[attr-defined]
        raise error


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
