"""Read and change the network of Central's own appliance through its appliance-agent.

The agent (``services.appliance.network``) reads the live network with pyroute2 and applies
a change all or nothing; Central checks the input's shape, forwards it over pinned mutual
TLS, maps the agent's refusals to problem answers naming the field and records every change
in the history (object type ``appliance-network``, the appliance-agent's server id) with the
save comment, the capture before and after.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from central.core.config import CentralConfig
from central.core.deps import Principal
from central.history import service as history
from central.registry import agent_client
from central.registry.models import Server
from services.common.errors import DaemonError, NotFoundError, ValidationError
from services.common.network import NetworkChange

HISTORY_TYPE = "appliance-network"
#: Applying many routes is quick, but never keep a request waiting for ever.
TIMEOUT = 20.0


class NetworkUpdate(NetworkChange):
    """A change of the appliance's network (fields left out stay as they are)."""

    comment: str = Field(default="", max_length=1000, description="save comment")


def _local_agent(db: Session) -> tuple[int, agent_client.AgentAddress]:
    server = db.scalar(select(Server).where(Server.local.is_(True), Server.kind == "appliance"))
    if server is None:
        raise NotFoundError("This Central runs on no appliance, so it has no network to manage.")
    return server.id, agent_client.AgentAddress(server.address, server.port, server.fingerprint)


def _field(answer: dict[str, Any]) -> str:
    field = answer.get("field")
    if isinstance(field, str) and field:
        return field
    detail = answer.get("detail")
    if isinstance(detail, list) and detail and isinstance(detail[0], dict):
        return ".".join(str(p) for p in detail[0].get("loc", [])[1:]) or "body"
    return "body"


def _call(
    config: CentralConfig, agent: agent_client.AgentAddress, method: str,
    body: dict[str, Any] | None = None,
) -> dict[str, Any]:  # fmt: skip
    data = json.dumps(body).encode() if body is not None else None
    status, answer = agent_client.call(
        config.root, agent, method, "/network", data, timeout=TIMEOUT
    )
    if status == 422 and isinstance(answer, dict):
        detail = answer.get("detail")
        message = detail if isinstance(detail, str) else "The appliance-agent refused the change."
        raise ValidationError(message, field=_field(answer))
    if status != 200 or not isinstance(answer, dict):
        detail = answer.get("detail") if isinstance(answer, dict) else answer
        raise DaemonError(f"The appliance-agent answered HTTP {status}: {detail}")
    return answer


def read(db: Session, config: CentralConfig) -> dict[str, Any]:
    _server_id, agent = _local_agent(db)
    return _call(config, agent, "GET")


def update(
    db: Session, config: CentralConfig, actor: Principal, change: NetworkUpdate
) -> dict[str, Any]:
    fields = change.model_dump(mode="json", exclude={"comment"}, exclude_none=True)
    if not fields:
        raise ValidationError(
            "Give at least one of hostname, extra_addresses, routes, resolvers.", field="body"
        )
    server_id, agent = _local_agent(db)
    before = _call(config, agent, "GET")
    after = _call(config, agent, "PUT", fields)
    history.record(
        db, actor, HISTORY_TYPE, server_id, "update", before=before, after=after,
        comment=change.comment,
    )  # fmt: skip
    db.commit()
    return after
