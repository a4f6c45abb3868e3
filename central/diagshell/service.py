"""Set and read an appliance's diagnostic-shell credentials through its appliance-agent.

The change goes to the agent over pinned mutual TLS; the history records it with the save
comment, showing whether a password is set and which keys are authorized, never the password.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from central.core.config import CentralConfig
from central.core.deps import Principal
from central.history import service as history
from central.registry import agent_client
from central.registry.service import get_server
from services.common.errors import DaemonError, ValidationError

PublicKey = Annotated[str, Field(min_length=16, max_length=16384)]


class DiagShellUpdate(BaseModel):
    """New credentials for ``diag``: a password, a list of authorized keys, or both."""

    model_config = ConfigDict(extra="forbid", strict=True)
    password: str | None = Field(
        default=None, min_length=12, max_length=256, description="at least 12 characters"
    )
    authorized_keys: list[PublicKey] | None = Field(
        default=None, max_length=100, description="OpenSSH public keys (replaces the list)"
    )
    comment: str = Field(default="", max_length=1000, description="save comment")


def _agent(db: Session, server_id: int) -> agent_client.AgentAddress:
    server = get_server(db, server_id)
    if server.kind != "appliance":
        raise ValidationError(
            f"Server {server_id} is a {server.kind} server, not an appliance.", field="server_id"
        )
    return agent_client.AgentAddress(server.address, server.port, server.fingerprint)


def _call(config: CentralConfig, agent: agent_client.AgentAddress, method: str,
          body: dict[str, Any] | None = None) -> dict[str, Any]:  # fmt: skip
    data = json.dumps(body).encode() if body is not None else None
    status, answer = agent_client.call(config.root, agent, method, "/diag-shell", data)
    if status == 422 and isinstance(answer, dict):
        raise ValidationError(str(answer.get("detail")), field=answer.get("field") or "body")
    if status != 200 or not isinstance(answer, dict):
        raise DaemonError(f"The appliance-agent answered HTTP {status}: {answer}")
    return answer


def read(db: Session, config: CentralConfig, server_id: int) -> dict[str, Any]:
    return _call(config, _agent(db, server_id), "GET")


def update(
    db: Session, config: CentralConfig, actor: Principal, server_id: int, change: DiagShellUpdate
) -> dict[str, Any]:
    if change.password is None and change.authorized_keys is None:
        raise ValidationError("Give a password, authorized keys or both.", field="password")
    agent = _agent(db, server_id)
    before = _call(config, agent, "GET")
    after = _call(
        config,
        agent,
        "PUT",
        change.model_dump(include={"password", "authorized_keys"}, exclude_none=True),
    )
    view = dict(after)
    if change.password is not None:
        view["password_changed"] = True
    history.record(
        db, actor, "diag-shell", server_id, "update", before=before, after=view,
        comment=change.comment,
    )  # fmt: skip
    db.commit()
    return after
