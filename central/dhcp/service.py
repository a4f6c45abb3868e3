"""DHCP management's rules in Central: forward to the dhcp-agent, keep the snapshot, record history.

Every change goes to the server's dhcp-agent through the typed ``DhcpAgentClient`` over pinned
mutual TLS (``central.registry.agent_client.PinnedTransport``); the agent checks it against
Kea's in-memory configuration and applies it (config-test, config-set, config-write). Only when
the agent applied it does Central read the configuration back into its snapshot and record
the change (who, object, before, after, comment). A refusal of the agent passes through as it
came, with its status and every problem in order (422 naming the fields, 409 for a scope that
already exists or a stale ``known_hash``), and changes nothing. An agent that cannot be reached
is 503 with Retry-After.

When the agent stops answering after a change was sent (it may have died after Kea took the
change), the outcome is settled before Central answers: Central reads Kea's configuration hash
back through the agent (supervisord starts it again within seconds), answers what Kea really
has and records that in the history.

A sync compares the agent's configuration hash with the snapshot's: a difference is a change
made behind Central's back (a config-reload on the server), recorded as ``external-change``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Literal, TypeVar

import orjson
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from central.core.config import CentralConfig
from central.core.db import now
from central.core.deps import Principal
from central.core.listing import ListParams
from central.core.problems import ProblemError
from central.dhcp.models import DhcpSnapshot, GlobalClass
from central.dhcp.redact import redacted
from central.dhcp.schemas import (
    ClassDeleted,
    ClassReplicated,
    DhcpServerPublic,
    FamilySync,
    Page,
    ReplicationFailure,
    SnapshotInfo,
    SyncResult,
)
from central.history.service import record
from central.registry.agent_client import AgentAddress, PinnedTransport
from central.registry.models import Server
from services.common.agent_client import OutcomeUnknownError
from services.common.dhcp import kea
from services.common.dhcp.client import DhcpAgentClient
from services.common.dhcp.contract import ChangeResult, ClientClass, ConfigState
from services.common.enrolment import fleet_dir
from services.common.errors import (
    BurrowError,
    DaemonError,
    NotFoundError,
    UnavailableError,
    ValidationError,
)

log = logging.getLogger(__name__)

Family = Literal["v4", "v6"]
FAMILIES: tuple[Family, ...] = ("v4", "v6")
Json = dict[str, Any]
T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)
EXTERNAL = "external"
#: Kea answers config-test and config-set within its control channel's 10 s; a margin on top.
AGENT_TIMEOUT = 30.0
#: How long Central waits for a dhcp-agent that stopped in the middle of a change to answer
#: again (supervisord starts it again within a second or two; its start takes some more).
SETTLE_SECONDS = 20.0
SETTLE_INTERVAL = 0.25


# --- the server and its agent -------------------------------------------------------------
def dhcp_server(db: Session, server_id: int) -> Server:
    """The registry's DHCP server ``server_id`` (404 if unknown, 422 if of another kind)."""
    server = db.get(Server, server_id)
    if server is None:
        raise NotFoundError(f"There is no server {server_id}.", field="dhcp_server_id")
    if server.kind != "dhcp":
        raise ValidationError(
            f"Server {server_id} is a {server.kind} server, not a DHCP server.",
            field="dhcp_server_id",
        )
    return server


def dhcp_servers(db: Session) -> list[Server]:
    """Every DHCP server of the registry."""
    return list(db.scalars(select(Server).where(Server.kind == "dhcp").order_by(Server.id)))


def managed_servers(db: Session) -> list[Server]:
    """Every enrolled, unrevoked DHCP server."""
    rows = db.scalars(
        select(Server)
        .where(Server.kind == "dhcp", Server.fingerprint != "", Server.state != "revoked")
        .order_by(Server.id)
    )
    return list(rows)


def agent_for(config: CentralConfig, server: Server) -> DhcpAgentClient:
    """The typed client of the server's dhcp-agent over pinned mutual TLS."""
    if server.state == "revoked":
        raise ProblemError(
            409, f"Server {server.id} is revoked: Central no longer calls its agent.",
            field="dhcp_server_id",
        )  # fmt: skip
    address = AgentAddress(server.address, server.port, server.fingerprint)
    return DhcpAgentClient(PinnedTransport(config.root, address), timeout=AGENT_TIMEOUT)


def read_back(read: Callable[[], T], *, what: str) -> T:
    """``read`` from an agent that may be starting again: retried while it cannot be reached,
    for up to ``SETTLE_SECONDS``; then the outcome stays unknown (504)."""
    deadline = time.monotonic() + SETTLE_SECONDS
    while True:
        try:
            return read()
        except UnavailableError as exc:
            if time.monotonic() >= deadline:
                raise OutcomeUnknownError(
                    f"{what}: the dhcp-agent stopped answering after the change was sent and "
                    f"has not answered again within {SETTLE_SECONDS:.0f} s; the change may or "
                    "may not have been applied.",
                    hint="sync the server (POST .../sync) when its agent is back, then look",
                ) from exc
            time.sleep(SETTLE_INTERVAL)


# --- the snapshot ---------------------------------------------------------------------------
def _dump(model: BaseModel) -> Json:
    dumped: Json = model.model_dump(mode="json", exclude_none=True)
    return dumped


def _each(entries: Any, read: Callable[[Json], BaseModel], what: str, skipped: list[str]
          ) -> list[Json]:  # fmt: skip
    """Each Kea entry as the API shows it; one that Central cannot read at all is left out
    of the list (it stays in Kea's configuration, untouched) and named in ``skipped``."""
    out = []
    for index, entry in enumerate(entries if isinstance(entries, list) else []):
        try:
            out.append(_dump(read(entry)))
        except (ValueError, KeyError, TypeError) as exc:
            name = entry.get("name", entry.get("subnet")) if isinstance(entry, dict) else None
            skipped.append(f"{what}[{index}]{f' ({name})' if name else ''}: {exc}")
    return out


#: Scopes as the API shows them, by the bytes of their Kea entry (own values) and shared
#: network: a configuration read after a change mostly holds scopes read before, and reading
#: 1,000 scopes with 10,000 reservations again costs seconds.
_SCOPE_CACHE: OrderedDict[bytes, Json] = OrderedDict()
_SCOPE_CACHE_KEPT = 8192
_SCOPE_LOCK = threading.Lock()


def scope_view(entry: Json, network: str | None, parent: Json) -> Json:
    """One scope as the API shows it (shared: never edit it); raises ValueError when Central
    cannot read it at all."""
    own = kea.own_values(entry, parent)
    key = orjson.dumps([network, own])
    with _SCOPE_LOCK:
        found = _SCOPE_CACHE.get(key)
        if found is not None:
            _SCOPE_CACHE.move_to_end(key)
            return found
    made = _dump(kea.scope_from_kea(orjson.loads(key)[1], network))
    with _SCOPE_LOCK:
        _SCOPE_CACHE[key] = made
        while len(_SCOPE_CACHE) > _SCOPE_CACHE_KEPT:
            _SCOPE_CACHE.popitem(last=False)
    return made


def _subnets(top: Json, family: Family) -> Iterator[tuple[Json, str | None, Json]]:
    """Every subnet entry of ``top`` with its shared network's name and what it inherits."""
    key = kea.subnet_key(family)
    server = kea.inherited_from(top)
    for entry in top.get(key, []):
        yield entry, None, server
    for network in top.get("shared-networks", []):
        parent = kea.inherited_from(top, network)
        for entry in network.get(key, []):
            yield entry, network.get("name"), parent


def _scopes(top: Json, family: Family, skipped: list[str]) -> list[Json]:
    out = []
    for index, (entry, network, parent) in enumerate(_subnets(top, family)):
        try:
            out.append(scope_view(entry, network, parent))
        except (ValueError, KeyError, TypeError) as exc:
            skipped.append(f"scopes[{index}] ({entry.get('subnet')}): {exc}")
    return out


def _properties(top: Json, family: Family, skipped: list[str]) -> Json:
    try:
        return _dump(kea.properties_from_config(top, family))
    except (ValueError, KeyError, TypeError) as exc:
        skipped.append(f"properties: {exc}")
        return {}


_SECTIONS: dict[str, Callable[[Json, Family, list[str]], Any]] = {
    "scopes": _scopes,
    "reservations": lambda top, _family, skipped: _each(
        top.get("reservations", []), kea.reservation_from_kea, "reservations", skipped
    ),
    "shared_networks": lambda top, _family, skipped: _each(
        top.get("shared-networks", []),
        lambda n: kea.shared_network_from_kea(n, kea.inherited_from(top)),
        "shared_networks",
        skipped,
    ),
    "classes": lambda top, _family, skipped: _each(
        top.get("client-classes", []), kea.class_from_kea, "classes", skipped
    ),
    "options": lambda top, _family, skipped: _each(
        top.get("option-data", []), kea.option_from_kea, "options", skipped
    ),
    "option_definitions": lambda top, _family, skipped: _each(
        top.get("option-def", []), kea.option_def_from_kea, "option_definitions", skipped
    ),
    "properties": _properties,
}


def raw_parts(value: Any, where: str = "") -> list[str]:
    """Where the objects of a view keep Kea keys Central does not model (``extra``)."""
    found: list[str] = []
    if isinstance(value, dict):
        extra = value.get("extra")
        if isinstance(extra, dict) and extra:
            found.append(f"{where or '.'}: {', '.join(sorted(extra))}")
        for key, inner in value.items():
            if key != "extra" and isinstance(inner, list | dict):
                found += raw_parts(inner, f"{where}.{key}" if where else key)
        return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            label = item.get("id", item.get("name")) if isinstance(item, dict) else None
            found += raw_parts(item, f"{where}[{label if label is not None else index}]")
    return found


class ConfigView(Mapping[str, Any]):
    """The objects of a daemon configuration as the API shows them (Central's wire models).

    Each section is made when first asked for: a change through Central needs one object
    before and after, and with 1,000 scopes making every section costs more than the rest of
    Central's work. Views are shared (``cached_view``): never edit what they return.
    """

    def __init__(self, config: Json, family: Family) -> None:
        self._top: Json = config.get(kea.top_key(family), config)
        self._family = family
        self._made: dict[str, Any] = {}
        self._skipped: dict[str, list[str]] = {}

    def __getitem__(self, name: str) -> Any:
        if name not in self._made:
            skipped: list[str] = []
            self._made[name] = _SECTIONS[name](self._top, self._family, skipped)
            self._skipped[name] = skipped
        return self._made[name]

    def skipped(self, name: str) -> list[str]:
        """The objects of a section Central could not read at all."""
        self[name]
        return list(self._skipped.get(name, []))

    def unmodeled(self) -> list[str]:
        """What Central keeps raw in this configuration: objects it cannot read at all (left
        out of their list, untouched in Kea) and keys it does not model (``extra``)."""
        notes = []
        for name in _SECTIONS:
            section_value = self[name]
            notes += [f"not read: {s}" for s in self._skipped.get(name, [])]
            notes += [f"raw: {name}{p if p.startswith('[') else '.' + p}"
                      for p in raw_parts(section_value)]  # fmt: skip
        return notes

    def __iter__(self) -> Iterator[str]:
        return iter(_SECTIONS)

    def __len__(self) -> int:
        return len(_SECTIONS)

    def scope(self, scope_id: int) -> Json | None:
        """One scope by id, without making the others (once they are made, from those)."""
        if "scopes" in self._made:
            return next((s for s in self._made["scopes"] if s.get("id") == scope_id), None)
        for entry, network, parent in _subnets(self._top, self._family):
            if entry.get("id") == scope_id:
                try:
                    return scope_view(entry, network, parent)
                except (ValueError, KeyError, TypeError):
                    return None
        return None

    def keyed(self, name: str) -> dict[Any, Any]:
        """The Kea entries of a section by the key of each object, in the form two
        configurations are compared in (a scope without Kea's copies of inherited values)."""
        top = self._top
        if name == "scopes":
            return {e.get("id"): [n, kea.own_values(e, p)] for e, n, p in
                    _subnets(top, self._family)}  # fmt: skip
        if name == "shared_networks":
            key, server = kea.subnet_key(self._family), kea.inherited_from(top)
            return {n.get("name"): kea.own_values({k: v for k, v in n.items() if k != key},
                                                  server)
                    for n in top.get("shared-networks", [])}  # fmt: skip
        if name == "classes":
            return {c.get("name"): c for c in top.get("client-classes", [])}
        if name == "option_definitions":
            return {(d.get("space"), d.get("code")): d for d in top.get("option-def", [])}
        if name == "reservations":
            return dict(enumerate(top.get("reservations", [])))
        return {"": self[name]}  # options, properties: as a whole

    def objects(self, name: str, keys: set[Any]) -> list[Any]:
        """The objects of section ``name`` whose keys (``keyed``) are ``keys``."""
        if name == "scopes":
            return [s for s in (self.scope(k) for k in sorted(keys, key=str)) if s is not None]
        if "" in keys:
            return [self[name]]
        entries = self.keyed(name)
        items = self[name]
        position = {k: i for i, k in enumerate(entries)}
        chosen = sorted(position[k] for k in keys if k in position)
        if len(items) != len(entries):  # some could not be read: all of the section
            return list(items)
        return [items[i] for i in chosen]


def changes_between(before: ConfigView, after: ConfigView) -> tuple[Json, Json, list[str]]:
    """What differs between two configurations, object by object: the changed objects of
    each section before and after (sections and properties that changed as a whole), and
    what Central keeps raw in the changed objects after. Only changed objects are read."""
    old: Json = {}
    new: Json = {}
    raw: list[str] = []
    for name in _SECTIONS:
        was, now = before.keyed(name), after.keyed(name)
        if was == now:
            continue
        keys = {k for k in was.keys() | now.keys() if was.get(k) != now.get(k)}
        whole = "" in keys
        old[name] = before.objects(name, keys & was.keys())
        new[name] = after.objects(name, keys & now.keys())
        if whole:
            old[name], new[name] = old[name][0], new[name][0]
        raw += [f"raw: {name}{p if p.startswith('[') else '.' + p}"
                for p in raw_parts(new[name])]  # fmt: skip
        if name == "scopes":  # read one by one: those that could not be read at all
            read = {s.get("id") for s in new[name]}
            raw += [f"not read: scopes[id {k}]" for k in keys & now.keys() if k not in read]
        else:
            raw += [f"not read: {s}" for s in after.skipped(name)]
    return old, new, raw


def view(config: Json, family: Family) -> ConfigView:
    """The objects of a daemon configuration as the API shows them."""
    return ConfigView(config, family)


#: Views of recent configurations by (server, family, hash): the view made after one change
#: is the "before" of the next, and what the lists read.
_VIEWS: OrderedDict[tuple[int, str, str], ConfigView] = OrderedDict()
_VIEWS_KEPT = 8
_VIEWS_LOCK = threading.Lock()


def cached_view(
    server_id: int, family: Family, digest: str, config: Callable[[], Json]
) -> ConfigView:
    """The view of the configuration with hash ``digest`` (``config`` reads it when needed)."""
    key = (server_id, family, digest)
    with _VIEWS_LOCK:
        found = _VIEWS.get(key)
        if found is not None:
            _VIEWS.move_to_end(key)
            return found
    made = ConfigView(config(), family)
    with _VIEWS_LOCK:
        _VIEWS[key] = made
        while len(_VIEWS) > _VIEWS_KEPT:
            _VIEWS.popitem(last=False)
    return made


def row_view(row: DhcpSnapshot) -> ConfigView:
    """The view of a snapshot row (its configuration is read from the database only if new)."""
    family: Family = "v4" if row.family == "v4" else "v6"
    return cached_view(row.server_id, family, row.hash, lambda: row.config)


def snapshot_row(db: Session, server: Server, family: Family) -> DhcpSnapshot | None:
    return db.scalar(
        select(DhcpSnapshot).where(
            DhcpSnapshot.server_id == server.id, DhcpSnapshot.family == family
        )
    )


def refresh(
    db: Session,
    config: CentralConfig,
    server: Server,
    family: Family,
    digest: str | None = None,
    *,
    agent: DhcpAgentClient | None = None,
    settling: bool = False,
) -> tuple[tuple[str, ConfigView] | None, DhcpSnapshot]:
    """Read the daemon's configuration into the snapshot.

    ``digest``: the hash a change answered; the agent then answers the configuration it read
    after the change without asking Kea again (a later change by someone else is caught by
    the next change's ``known_hash`` or the next sync). ``settling``: the agent may be
    starting again (after a change): wait for it (``read_back``).

    Returns the hash and view of the snapshot it replaced (None if there was none) and the
    current row. The old configuration is read from the database only if its view is not
    cached and someone looks into it.
    """
    client = agent or agent_for(config, server)
    if settling:
        state = read_back(lambda: client.config(family, digest), what="reading it back")
    else:
        state = client.config(family, digest)
    return store(db, server, family, state)


def store(
    db: Session, server: Server, family: Family, state: ConfigState
) -> tuple[tuple[str, ConfigView] | None, DhcpSnapshot]:
    """Put the configuration the agent answered into the snapshot (see ``refresh``)."""
    if state.config is None:
        raise DaemonError(f"The dhcp-agent of server {server.id} answered no configuration.")
    row = snapshot_row(db, server, family)
    old = None
    if row is None:
        row = DhcpSnapshot(server_id=server.id, family=family)
        db.add(row)
    else:
        old = (row.hash, row_view(row))
    row.hash = state.hash
    row.config = state.config
    row.synced_at = now()
    return old, row


def current_view(db: Session, config: CentralConfig, server: Server, family: Family) -> ConfigView:
    """The snapshot's objects (read from the agent first if Central has none yet)."""
    row = snapshot_row(db, server, family)
    if row is None:
        _old, row = refresh(db, config, server, family)
        db.commit()
    return row_view(row)


def server_public(db: Session, server: Server) -> DhcpServerPublic:
    snapshots = {
        r.family: SnapshotInfo(hash=r.hash, synced_at=r.synced_at)
        for r in db.scalars(select(DhcpSnapshot).where(DhcpSnapshot.server_id == server.id))
    }
    return DhcpServerPublic(
        id=server.id,
        name=server.name,
        address=server.address,
        port=server.port,
        state=server.state,
        local=server.local,
        snapshots=snapshots,
    )


# --- changes --------------------------------------------------------------------------------
Pick = Callable[[Mapping[str, Any]], Any]
#: One change through the agent: (client, known_hash) -> what the agent answered.
Send = Callable[[DhcpAgentClient, str], ChangeResult]


def change(
    db: Session,
    config: CentralConfig,
    actor: Principal | str,
    server: Server,
    family: Family,
    send: Send,
    *,
    object_type: str,
    object_id: str | None,
    action: str,
    pick: Pick,
    comment: str = "",
    replicate: bool = True,
) -> tuple[ChangeResult, Any]:
    """Send one change; when the agent applied it, refresh the snapshot and record it.

    ``pick`` takes the changed object out of a view (None when absent) for the history's
    before and after. Returns what the agent answered (or, when its answer was lost, what
    reading Kea back showed) and the object after the change.
    """
    agent = agent_for(config, server)
    # A change made behind Central's back since the last sync is recorded first, as such,
    # so that it is neither lost nor mistaken for part of this change: the agent refuses the
    # change (409 on known_hash) unless the server still has the snapshot's configuration;
    # then Central syncs and repeats it once.
    row = snapshot_row(db, server, family)
    if row is None:
        sync_family(db, config, server, family, agent=agent)
        row = snapshot_row(db, server, family)
        assert row is not None
    for attempt in (1, 2):
        before = pick(row_view(row))
        try:
            result = settled(agent, server, family, row.hash, send)
            break
        except BurrowError as exc:
            if exc.status != 409 or exc.field != "known_hash" or attempt == 2:
                raise
        sync_family(db, config, server, family, agent=agent)  # the server's configuration
    try:
        _old, row = refresh(db, config, server, family, result.after, agent=agent, settling=True)
    except BurrowError:
        # Applied, but not read back: record it (the next sync takes in the configuration).
        db.rollback()
        record(
            db, actor, object_type, history_id(server, family, object_id), action,
            before=_boxed(before), after=None, comment=comment,
        )  # fmt: skip
        db.commit()
        raise DaemonError(
            "The change was applied, but Central could not read the configuration back; "
            "the next sync will show it.",
            field="dhcp_server_id",
        ) from None
    after = pick(row_view(row))
    if result.changed:
        record(
            db,
            actor,
            object_type,
            history_id(server, family, object_id or (after or {}).get("id")),
            action,
            before=_boxed(before),
            after=_boxed(after),
            comment=comment,
        )
    db.commit()
    if replicate and family == "v4":
        _to_partner(db, config, actor, server, send, object_type, object_id, action, pick,
                    comment)  # fmt: skip
    return result, after


def _to_partner(
    db: Session, config: CentralConfig, actor: Principal | str, server: Server, send: Send,
    object_type: str, object_id: str | None, action: str, pick: Pick, comment: str,
) -> None:  # fmt: skip
    """The same change on the server's HA partner (central.dhcp.ha), if it has one."""
    from central.dhcp import ha  # it builds on this module

    if object_type not in ha.REPLICATED:
        return
    other_id = ha.partner_of(db, server.id)
    other = db.get(Server, other_id) if other_id is not None else None
    if other is None:
        return
    try:
        change(db, config, actor, other, "v4", send, object_type=object_type,
               object_id=object_id, action=action, pick=pick,
               comment=(comment + " " if comment else "") + f"(HA partner of {server.name})",
               replicate=False)  # fmt: skip
    except BurrowError as exc:
        db.rollback()
        raise DaemonError(
            f"The change was made on {server.name} but not on its HA partner {other.name}: "
            f"{exc.message}",
            field="ha",
            hint="make the change again when the partner answers (the same change is "
            "refused or unchanged where it was made already)",
        ) from exc


def settled(
    agent: DhcpAgentClient, server: Server, family: Family, known: str, send: Send
) -> ChangeResult:
    """``send`` the change; if the agent's answer was lost after sending (it may have died
    after Kea took the change), read Kea's configuration hash back through the agent once it
    answers again and answer what Kea really has: the change applied (the hash moved on from
    ``known``) or not (it did not: nothing was changed, 503)."""
    try:
        return send(agent, known)
    except OutcomeUnknownError as exc:
        log.warning("server %s %s: the answer to a change was lost (%s); reading Kea back",
                    server.id, family, exc)  # fmt: skip
        lost = exc
    now_hash = read_back(lambda: agent.config_hash(family), what="the change").hash
    if now_hash == known:
        raise UnavailableError(
            f"The dhcp-agent of server {server.id} stopped before Kea took the change; "
            "nothing was changed.",
            hint="repeat the change",
        ) from lost
    log.warning("server %s %s: the change was applied (%s -> %s)", server.id, family,
                known[:12], now_hash[:12])  # fmt: skip
    return ChangeResult(family=family, before=known, after=now_hash, changed=True)


def history_id(server: Server, family: Family, *parts: object) -> str:
    """The history's object id of a DHCP object: ``SERVER:FAMILY[:OBJECT]``."""
    return ":".join(str(p) for p in (server.id, family, *parts) if p is not None)[:64]


def _boxed(value: Any) -> Json | None:
    """What the history keeps of a changed object: secrets hidden (central.dhcp.redact)."""
    if value is None:
        return None
    if isinstance(value, Mapping):  # an object, or a whole view
        boxed: Json = redacted(dict(value))
        return boxed
    return {"value": redacted(value)}


def by_key(section: str, key: str, value: Any) -> Pick:
    def pick(objects: Mapping[str, Any]) -> Any:
        if section == "scopes" and key == "id" and isinstance(objects, ConfigView):
            return objects.scope(int(value))
        for item in objects[section]:
            if str(item.get(key)) == str(value):
                return item
        return None

    return pick


def section(name: str) -> Pick:
    return lambda objects: objects[name]


def find(objects: Mapping[str, Any], section_name: str, key: str, value: Any, field: str) -> Json:
    item = by_key(section_name, key, value)(objects)
    if item is None:
        raise NotFoundError(f"There is no {field.removesuffix('_id')} {value}.", field=field)
    return dict(item)


# --- external changes -------------------------------------------------------------------------
def sync_family(
    db: Session,
    config: CentralConfig,
    server: Server,
    family: Family,
    *,
    agent: DhcpAgentClient | None = None,
) -> FamilySync:
    """Compare one daemon's hash with the snapshot; take in and record a change found."""
    client = agent or agent_for(config, server)
    known = snapshot_row(db, server, family)
    state = client.config_hash(family)
    if known is not None and known.hash == state.hash:
        known.synced_at = now()
        db.commit()
        return FamilySync(hash=known.hash, changed=False)
    # The agent holds the configuration it just hashed: it answers that one without asking
    # Kea again (a later change is the next sync's).
    old, row = refresh(db, config, server, family, state.hash, agent=client)
    if old is not None:
        old_hash, before = old
        after = row_view(row)
        was, shown, raw = changes_between(before, after)
        keys = list(shown)
        comment = "changed on the server, outside Central"
        if raw:
            comment += (f"; kept as Kea has it, not modeled by Central ({len(raw)}): "
                        + "; ".join(raw[:20]) + ("; …" if len(raw) > 20 else ""))  # fmt: skip
        record(
            db,
            EXTERNAL,
            "dhcp-config",
            history_id(server, family),
            "external-change",
            before=redacted({"hash": old_hash, **was}),
            after=redacted({"hash": row.hash, **shown, **({"unmodeled": raw} if raw else {})}),
            comment=comment[:1000],
        )
        log.info("server %s %s: external change (%s)", server.id, family, ", ".join(keys))
    db.commit()
    return FamilySync(hash=row.hash, changed=old is not None)


def sync(db: Session, config: CentralConfig, server: Server) -> SyncResult:
    """Compare the agent's configuration hashes with the snapshots; take in what changed."""
    agent = agent_for(config, server)
    families: dict[str, FamilySync] = {
        family: sync_family(db, config, server, family, agent=agent) for family in FAMILIES
    }
    # A joined appliance's Central only reads: the managing Central puts the classes.
    pushed = [] if fleet_dir(config.root).exists() else replicate_missing(db, config, server)
    return SyncResult(server_id=server.id, families=families, global_classes=pushed)


def sync_all(db: Session, config: CentralConfig) -> None:
    for server in managed_servers(db):
        try:
            sync(db, config, server)
        except Exception as exc:  # one unreachable server must not stop the others
            db.rollback()
            log.warning("DHCP sync of server %s failed: %s", server.id, exc)


# --- global client classes -------------------------------------------------------------------
def _put_class(cls: ClientClass, family: Family) -> Send:
    return lambda agent, known: agent.put_class(family, cls, known_hash=known)


def _delete_class(name: str, family: Family) -> Send:
    return lambda agent, known: agent.delete_class(family, name, known_hash=known)


def put_class(
    db: Session,
    config: CentralConfig,
    actor: Principal,
    server: Server,
    family: Family,
    cls: ClientClass,
    *,
    is_global: bool,
    comment: str,
) -> ClassReplicated:
    """Put a class on ``server``; a global class on every managed DHCP server as well."""
    name = cls.name
    targets = [server]
    stored = db.scalar(
        select(GlobalClass).where(GlobalClass.family == family, GlobalClass.name == name)
    )
    if is_global or stored is not None:
        targets += [s for s in managed_servers(db) if s.id != server.id]
    replicated: list[int] = []
    failed: list[ReplicationFailure] = []
    for index, target in enumerate(targets):
        try:
            change(
                db, config, actor, target, family, _put_class(cls, family),
                object_type="dhcp-class", object_id=name, action="update",
                pick=by_key("classes", "name", name), comment=comment,
                replicate=len(targets) == 1,  # a global class goes to every server anyway
            )  # fmt: skip
        except BurrowError as exc:
            if index == 0:
                raise  # the server asked for refused it: nothing was changed anywhere
            db.rollback()
            failed.append(ReplicationFailure(server_id=target.id, detail=exc.message))
            continue
        replicated.append(target.id)
    body = cls.model_dump(mode="json")
    if is_global:
        if stored is None:
            stored = GlobalClass(family=family, name=name, body=body)
            db.add(stored)
        stored.body, stored.updated_at = body, now()
    elif stored is not None:
        db.delete(stored)  # saved without the flag: no longer global
    db.commit()
    found = by_key("classes", "name", name)(current_view(db, config, server, family))
    return ClassReplicated.model_validate(
        {**(found or body), "global": is_global, "servers": replicated, "failed": failed}
    )


def delete_class(
    db: Session,
    config: CentralConfig,
    actor: Principal,
    server: Server,
    family: Family,
    name: str,
    comment: str,
) -> ClassDeleted:
    stored = db.scalar(
        select(GlobalClass).where(GlobalClass.family == family, GlobalClass.name == name)
    )
    targets = [server]
    if stored is not None:
        targets += [s for s in managed_servers(db) if s.id != server.id]
    done: list[int] = []
    failed: list[ReplicationFailure] = []
    for index, target in enumerate(targets):
        try:
            change(
                db, config, actor, target, family, _delete_class(name, family),
                object_type="dhcp-class", object_id=name, action="delete",
                pick=by_key("classes", "name", name), comment=comment,
                replicate=len(targets) == 1,  # a global class goes to every server anyway
            )  # fmt: skip
        except BurrowError as exc:
            if index == 0:
                raise
            db.rollback()
            failed.append(ReplicationFailure(server_id=target.id, detail=exc.message))
            continue
        done.append(target.id)
    if stored is not None:
        db.delete(stored)
    db.commit()
    return ClassDeleted(name=name, servers=done, failed=failed)


def global_names(db: Session, family: Family) -> set[str]:
    return set(db.scalars(select(GlobalClass.name).where(GlobalClass.family == family)))


def replicate_missing(db: Session, config: CentralConfig, server: Server) -> list[str]:
    """Put every global class the server lacks (or holds otherwise) on it; returns their names."""
    pushed = []
    for family in FAMILIES:
        classes = {c["name"]: c for c in current_view(db, config, server, family)["classes"]}
        for stored in db.scalars(select(GlobalClass).where(GlobalClass.family == family)):
            wanted = {k: v for k, v in stored.body.items() if v not in (None, [], "", False)}
            have = classes.get(stored.name)
            if have is not None and {k: v for k, v in have.items() if v not in ([], "", False)} \
                    == wanted:  # fmt: skip
                continue
            cls = ClientClass.model_validate(stored.body)
            change(
                db, config, "system", server, family, _put_class(cls, family),
                object_type="dhcp-class", object_id=stored.name, action="replicate",
                pick=by_key("classes", "name", stored.name),
                comment="global class replicated to this server", replicate=False,
            )  # fmt: skip
            pushed.append(f"{family}/{stored.name}")
    return pushed


# --- lists of objects -------------------------------------------------------------------------
def listing(
    items: list[Json],
    params: ListParams,
    fields: tuple[str, ...],
    text_fields: tuple[str, ...],
    model: type[M],
) -> Page[M]:
    """``filter``, ``sort``, ``offset``, ``limit`` over objects read from the snapshot; the
    page's items as ``model``."""

    def text(item: Json, name: str) -> str:
        value = item.get(name)
        return "" if value is None else str(value).lower()

    chosen = items
    for term in (params.filter or "").split():
        name, op, raw = _split(term)
        if not op:
            chosen = [i for i in chosen if any(term.lower() in text(i, f) for f in text_fields)]
            continue
        if name not in fields:
            raise ValidationError(
                f"cannot filter on {name!r}; known fields: {', '.join(fields)}", field="filter"
            )
        if op == ":":
            chosen = [i for i in chosen if text(i, name) == raw.lower()]
        else:
            chosen = [i for i in chosen if raw.lower() in text(i, name)]
    for item in reversed((params.sort or "").split(",") if params.sort else []):
        key = item.strip().lstrip("-")
        if key not in fields:
            raise ValidationError(
                f"cannot sort by {key!r}; known fields: {', '.join(fields)}", field="sort"
            )
        chosen = sorted(chosen, key=lambda i: _sort_key(i.get(key)), reverse=item.startswith("-"))
    page = chosen[params.offset : params.offset + params.limit]
    return Page[model](  # type: ignore[valid-type]
        items=[model.model_validate(i) for i in page],
        total=len(chosen),
        offset=params.offset,
        limit=params.limit,
    )


def _sort_key(value: Any) -> tuple[int, Any]:
    if isinstance(value, int | float):
        return (0, value)
    return (1, "" if value is None else str(value))


def _split(term: str) -> tuple[str, str, str]:
    for i, char in enumerate(term):
        if char in ":~":
            return term[:i], char, term[i + 1 :]
    return term, "", ""
