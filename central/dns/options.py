"""Server options of a DNS server through Central: forwarders, recursion and the clients
allowed to recurse, listen addresses, DNSSEC validation.

A change is checked by the shared model (422 naming the field), sent to the server's dns-agent
(which checks the listen addresses against the appliance's own, renders named.conf, checks it
with named-checkconf and reloads named, putting the last known good configuration back if named
refuses), and only then stored in Central with its history entry and save comment. A refusal of
the agent changes nothing in Central.

At each sync Central reads the options back from the agent, which reads them from the
configuration named runs. Where they differ from Central's, the server wins and the history
gets an ``external-change``.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticValidationError
from sqlalchemy.orm import Session

from central.core.config import CentralConfig
from central.core.db import now
from central.core.deps import Principal
from central.dns.agent import PinnedDnsClient, client_for
from central.dns.lock import serialized
from central.dns.models import DnsServerOptions
from central.history import service as history
from central.registry.service import get_server
from services.common.dns.options import ServerOptions
from services.common.errors import ValidationError

OBJECT_TYPE = "dns-server-options"
EXTERNAL = "external"


class OptionsRequest(BaseModel):
    """The whole set of server options (what is left out takes its default), with a comment."""

    model_config = ConfigDict(extra="forbid")
    options: ServerOptions
    comment: str = Field(default="", max_length=1000, description="save comment")


def _dns_server(db: Session, server_id: int) -> None:
    server = get_server(db, server_id)
    if server.kind != "dns":
        raise ValidationError(
            f"Server {server_id} is a {server.kind} server, not a DNS server.", field="server_id"
        )


def _dump(options: ServerOptions) -> dict[str, Any]:
    return options.model_dump(mode="json")


def view(server_id: int, row: DnsServerOptions | None) -> dict[str, Any]:
    """Central's view; ``known`` is false until Central set or read the options once."""
    if row is None:
        return {
            "server_id": server_id,
            "options": _dump(ServerOptions()),
            "known": False,
            "synced_at": None,
            "updated_at": None,
        }
    return {
        "server_id": server_id,
        "options": row.options,
        "known": True,
        "synced_at": row.synced_at.isoformat() if row.synced_at else None,
        "updated_at": row.updated_at.isoformat(),
    }


def get_options(db: Session, server_id: int) -> dict[str, Any]:
    _dns_server(db, server_id)
    return view(server_id, db.get(DnsServerOptions, server_id))


def _central_field(field: str | None) -> str:
    """The agent's ``listen_on[0]`` as Central names it in this request: ``options.listen_on.0``."""
    if not field:
        return "options"
    return "options." + re.sub(r"\[(\d+)\]", r".\1", field)


@serialized
def set_options(
    db: Session, config: CentralConfig, actor: Principal, server_id: int, body: OptionsRequest
) -> dict[str, Any]:
    _dns_server(db, server_id)
    client = client_for(db, config, server_id)
    try:
        applied = client.set_options(body.options)
    except ValidationError as exc:
        raise ValidationError(exc.message, field=_central_field(exc.field), hint=exc.hint) from exc
    row = db.get(DnsServerOptions, server_id)
    before = row.options if row is not None else None
    if row is None:
        row = DnsServerOptions(server_id=server_id, options={})
        db.add(row)
    row.options = _dump(applied)
    row.synced_at = row.updated_at = now()
    history.record(
        db, actor, OBJECT_TYPE, server_id, "update",
        before=before, after=row.options, comment=body.comment,
    )  # fmt: skip
    db.commit()
    return view(server_id, row)


def sync_options(db: Session, client: PinnedDnsClient, server_id: int) -> bool:
    """Read the options back (the caller holds the DNS lock and commits); True if they differed.

    The first read of a server only stores them: Central had no view to differ from.
    """
    served = client.options()
    row = db.get(DnsServerOptions, server_id)
    if row is None:
        db.add(
            DnsServerOptions(
                server_id=server_id, options=_dump(served), synced_at=now(), updated_at=now()
            )
        )
        return False
    row.synced_at = now()
    try:
        same = ServerOptions.model_validate(row.options) == served
    except PydanticValidationError:
        same = False
    if same:
        return False
    before = row.options
    row.options = _dump(served)
    row.updated_at = now()
    history.record(
        db, EXTERNAL, OBJECT_TYPE, server_id, "external-change",
        before=before, after=row.options,
        comment="changed on the server behind Central's back; the server wins",
    )  # fmt: skip
    return True
