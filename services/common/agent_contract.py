"""What every agent answers the same way: ``GET /health`` and ``PUT /pki/crl``.

``services.common.agent.agent_app`` serves both for each agent; ``AgentClient`` (the base of
every typed agent client) calls them, so Central checks and updates any agent alike.

    GET /health                     -> AgentHealth
    PUT /pki/crl  (PEM, application/pkix-crl) -> 204; 422 not a CRL of the appliance CA,
                                       409 older than the one in use
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

#: The media type of a revocation list sent to ``PUT /pki/crl``.
CRL_MEDIA_TYPE = "application/pkix-crl"


class AgentHealth(BaseModel):
    """An agent's ``GET /health``: it is up, and what it sees of the daemon it drives."""

    service: str = Field(description="the agent's name, e.g. dns-agent")
    status: str = Field(description="ok while the agent answers")
    version: str
    uptime_seconds: float
    daemon: dict[str, Any] | None = Field(
        default=None,
        description="facts about the daemon the agent drives (named, Kea, the network); "
        "status 'unreachable' and an error when it cannot be asked",
    )
