"""A caching server's settings, statistics and cache flushes through Central.

The server is the one place its settings live (``var/lib/burrow/unbound/settings.json`` on the
appliance, in its backups): Central reads them from the dns-agent when asked and stores none
of its own. A change is checked by the shared model (422 naming the field, before anything is
sent), sent whole to the dns-agent (which renders unbound.conf, checks it with
unbound-checkconf and reloads Unbound, keeping the last good configuration if Unbound refuses
it), and recorded in the history with the settings before and after as readable lines (a
forwarder, a zone, a record, an access rule a line), who made it and the save comment. A
refusal of the agent changes nothing and comes back with its status and every problem, each
field named as in Central's request (the agent's ``forwarders[0].address`` is
``settings.forwarders[0].address`` here). A flush is recorded the same way.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from central.caching import agent
from central.caching.schemas import (
    CachingServer,
    FlushRequest,
    FlushView,
    LookupView,
    SettingsRequest,
    SettingsView,
    StatsView,
)
from central.core.config import CentralConfig
from central.core.deps import Principal
from central.dns.settle import read_back
from central.history import service as history
from central.registry.models import Server
from services.common.agent_client import OutcomeUnknownError
from services.common.caching.contract import CacheFlush, CachingSettings
from services.common.errors import BurrowError, DaemonError
from services.common.problems import under

log = logging.getLogger(__name__)

SETTINGS = "caching-settings"
CACHE = "caching-cache"

_guard = threading.Lock()
_locks: dict[int, threading.Lock] = {}


def _lock(server_id: int) -> threading.Lock:
    """One change at a time per server: the before and after of its history entry are its own."""
    with _guard:
        return _locks.setdefault(server_id, threading.Lock())


def servers(db: Session) -> list[CachingServer]:
    rows = db.scalars(select(Server).where(Server.kind == "caching").order_by(Server.id))
    return [
        CachingServer(
            id=s.id, name=s.name, address=s.address, port=s.port, local=s.local, state=s.state
        )
        for s in rows
    ]


def readable(settings: CachingSettings) -> dict[str, Any]:
    """The settings as the history keeps them: each list as lines of text (a forwarder, a
    zone with its servers, a record, an access rule), so that a change reads as the lines it
    removed and added; numbers and switches as they are."""
    data = settings.model_dump(mode="json")

    def servers_of(zone: Any) -> str:
        return ", ".join(t.text() for t in zone.servers)

    data["forwarders"] = [t.text() for t in settings.forwarders]
    data["forward_zones"] = [
        f"{z.name} to {servers_of(z)}" + (" (then from the root)" if z.first else "")
        for z in settings.forward_zones
    ]
    data["stub_zones"] = [f"{z.name} at {servers_of(z)}" for z in settings.stub_zones]
    data["local_zones"] = [f"{z.name} {z.type}" for z in settings.local_zones]
    data["local_data"] = [r for z in settings.local_zones for r in z.records]
    data["access"] = [f"{r.network} {r.action}" for r in settings.access]
    return data


def _apply(client: agent.CachingAgentClient, settings: CachingSettings) -> CachingSettings:
    """Send the settings; if the agent stopped answering after they were sent, read them back
    (retried while it restarts) and answer what Unbound runs: the new settings, or a 502 that
    nothing was changed, or a 504 when they cannot be read back in time."""
    try:
        return client.put_settings(settings)
    except OutcomeUnknownError as lost:
        log.warning("caching settings: %s; reading them back", lost.message)
        try:
            served = read_back(client.get_settings)
        except BurrowError as exc:
            raise OutcomeUnknownError(
                "The dns-agent stopped answering after the settings were sent, and they cannot "
                f"be read back yet ({exc.message}); they may or may not have been applied.",
                hint="read the settings again in a few seconds",
            ) from exc
        if served != settings:
            raise DaemonError(
                "The dns-agent stopped answering before the settings were applied; Unbound "
                "runs what it ran before: nothing was changed.",
                hint="send the settings again",
            ) from lost
        return served


def get_settings(db: Session, config: CentralConfig, server_id: int) -> SettingsView:
    server = agent.caching_server(db, server_id)
    found = agent.client_for(db, config, server_id).get_settings()
    return SettingsView(server_id=server_id, server_name=server.name, settings=found)


def set_settings(
    db: Session, config: CentralConfig, actor: Principal, server_id: int, body: SettingsRequest
) -> SettingsView:
    server = agent.caching_server(db, server_id)
    client = agent.client_for(db, config, server_id)
    with _lock(server_id):
        before = client.get_settings()

        try:
            applied = _apply(client, body.settings)
        except BurrowError as exc:
            if 400 <= exc.status < 500:
                raise under("settings", exc) from None
            raise
        history.record(
            db, actor, SETTINGS, server_id, "update",
            before={"name": server.name, **readable(before)},
            after={"name": server.name, **readable(applied)},
            comment=body.comment,
        )  # fmt: skip
        db.commit()
    return SettingsView(server_id=server_id, server_name=server.name, settings=applied)


def stats(db: Session, config: CentralConfig, server_id: int) -> StatsView:
    server = agent.caching_server(db, server_id)
    found = agent.client_for(db, config, server_id).stats()
    ratio = round(found.cache_hits / found.queries, 4) if found.queries else None
    return StatsView(server_id=server_id, server_name=server.name, hit_ratio=ratio, stats=found)


def flush(
    db: Session, config: CentralConfig, actor: Principal, server_id: int, body: FlushRequest
) -> FlushView:
    server = agent.caching_server(db, server_id)
    client = agent.client_for(db, config, server_id)
    done = client.flush(
        CacheFlush(name=body.name, zone=body.zone, type=body.type, negative=body.negative)
    )
    what = "every name at and below" if body.zone else "the name"
    if body.type:
        what = f"the {body.type} records of"
    history.record(
        db, actor, CACHE, server_id, "flush",
        after={
            "name": server.name,
            "flushed": f"{what} {done.name}"
            + (" and every negative answer" if body.negative else ""),
            "detail": done.detail,
        },
        comment=body.comment,
    )  # fmt: skip
    db.commit()
    return FlushView(server_id=server_id, flushed=done)


def lookup(db: Session, config: CentralConfig, server_id: int, name: str) -> LookupView:
    """Where Unbound would send a query for ``name`` (``unbound-control lookup``)."""
    agent.caching_server(db, server_id)
    found = agent.client_for(db, config, server_id).lookup(name)
    return LookupView(server_id=server_id, lookup=found)
