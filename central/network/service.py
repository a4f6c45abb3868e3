"""Read and change the network of Central's own appliance through its appliance-agent.

The agent (``services.appliance.network``) reads the live network with pyroute2 and applies
a change all or nothing; Central checks the input's shape, forwards it with the typed
``ApplianceAgentClient`` over pinned mutual TLS (the agent's refusals come back with their
status and every problem, naming the fields) and records every change in the history (object
type ``appliance-network``, the appliance-agent's server id) with the save comment, the
capture before and after.
"""

from __future__ import annotations

from pydantic import Field
from sqlalchemy.orm import Session

from central.appliance.agent import local_client
from central.core.config import CentralConfig
from central.core.deps import Principal
from central.history import service as history
from services.common.errors import ValidationError
from services.common.network import NetworkChange, NetworkSettings

HISTORY_TYPE = "appliance-network"
#: Applying many routes is quick, but never keep a request waiting for ever.
TIMEOUT = 20.0


class NetworkUpdate(NetworkChange):
    """A change of the appliance's network (fields left out stay as they are)."""

    comment: str = Field(default="", max_length=1000, description="save comment")


def read(db: Session, config: CentralConfig) -> NetworkSettings:
    with local_client(db, config) as agent:
        agent.timeout = TIMEOUT
        return agent.network()


def update(
    db: Session, config: CentralConfig, actor: Principal, change: NetworkUpdate
) -> NetworkSettings:
    wanted = NetworkChange.model_validate(change.model_dump(exclude={"comment"}, exclude_none=True))
    if not wanted.model_fields_set:
        raise ValidationError(
            "Give at least one of hostname, extra_addresses, routes, resolvers.", field="body"
        )
    with local_client(db, config) as agent:
        agent.timeout = TIMEOUT
        before = agent.network()
        after = agent.change_network(wanted)
        server_id = agent.server_id
    history.record(
        db, actor, HISTORY_TYPE, server_id, "update",
        before=before.model_dump(mode="json"), after=after.model_dump(mode="json"),
        comment=change.comment,
    )  # fmt: skip
    db.commit()
    return after
