"""Server options of a DNS server through Central: forwarders, recursion and the clients
allowed to recurse, listen addresses, DNSSEC validation.

A change is checked by the shared model (422 naming the field), sent to the server's dns-agent
(which checks the listen addresses against the appliance's own, renders named.conf, checks it
with named-checkconf and reloads named, putting the last known good configuration back if named
refuses), and only then stored in Central with its history entry and save comment. A refusal of
the agent changes nothing in Central and comes back with the agent's status and every problem
it found, each field named as in Central's request (the agent's ``listen_on[0]`` is
``options.listen_on[0]`` here). When the agent stops answering after the options were sent,
they are read back before Central answers (``central.dns.settle``).

At each sync Central reads the options back from the agent, which reads them from the
configuration named runs. Where they differ from Central's, the server wins and the history
gets an ``external-change``.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError as PydanticValidationError
from sqlalchemy.orm import Session

from central.core.config import CentralConfig
from central.core.db import now
from central.core.deps import Principal
from central.dns import lock
from central.dns.agent import PinnedDnsClient, client_for, require_dns
from central.dns.models import DnsServerOptions
from central.dns.schemas import OptionsRequest, OptionsView
from central.dns.settle import settle
from central.history import service as history
from services.common.dns.options import ServerOptions
from services.common.errors import BurrowError
from services.common.problems import under

OBJECT_TYPE = "dns-server-options"
EXTERNAL = "external"


def _dns_server(db: Session, server_id: int) -> None:
    require_dns(db, server_id)


def _dump(options: ServerOptions) -> dict[str, Any]:
    return options.model_dump(mode="json")


def view(server_id: int, row: DnsServerOptions | None) -> OptionsView:
    """Central's view; ``known`` is false until Central set or read the options once."""
    if row is None:
        return OptionsView(
            server_id=server_id, options=ServerOptions(), known=False, synced_at=None,
            updated_at=None,
        )  # fmt: skip
    return OptionsView(
        server_id=server_id,
        options=ServerOptions.model_validate(row.options),
        known=True,
        synced_at=row.synced_at,
        updated_at=row.updated_at,
    )


def get_options(db: Session, server_id: int) -> OptionsView:
    _dns_server(db, server_id)
    return view(server_id, db.get(DnsServerOptions, server_id))


def set_options(
    db: Session, config: CentralConfig, actor: Principal, server_id: int, body: OptionsRequest
) -> OptionsView:
    with lock.options(server_id):
        return _set_options(db, config, actor, server_id, body)


def _set_options(
    db: Session, config: CentralConfig, actor: Principal, server_id: int, body: OptionsRequest
) -> OptionsView:
    _dns_server(db, server_id)
    client = client_for(db, config, server_id)

    def check() -> ServerOptions | None:
        served = client.options()
        return served if served == body.options else None

    try:
        applied = settle(
            lambda: client.set_options(body.options), check, what="Setting the server options"
        )
    except BurrowError as exc:
        if 400 <= exc.status < 500:
            raise under("options", exc) from None
        raise
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
    """Read the options back (the caller holds the server's options lock and commits); True if
    they differed.

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
