"""DHCP management's rules in Central: forward to the dhcp-agent, keep the snapshot, record history.

Every change goes to the server's dhcp-agent over pinned mutual TLS; the agent checks it
against Kea's in-memory configuration and applies it (config-test, config-set, config-write).
Only when the agent applied it does Central read the configuration back into its snapshot and
record the change (who, object, before, after, comment). A refusal of the agent (422 naming
the field, 409 for a scope that already exists) is answered as it came, and changes nothing.

A sync compares the agent's configuration hash with the snapshot's: a difference is a change
made behind Central's back (a config-reload on the server), recorded as ``external-change``.
"""

from __future__ import annotations

import http.client
import json
import logging
import threading
import urllib.parse
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Literal

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from central.core.config import CentralConfig
from central.core.db import now
from central.core.deps import Principal, jsonable
from central.core.listing import ListParams
from central.core.problems import ProblemError
from central.dhcp.models import DhcpSnapshot, GlobalClass
from central.history.service import record
from central.registry import agent_client
from central.registry.models import Server
from services.common.dhcp import kea
from services.common.errors import NotFoundError, ValidationError

log = logging.getLogger(__name__)

Family = Literal["v4", "v6"]
FAMILIES: tuple[Family, ...] = ("v4", "v6")
Json = dict[str, Any]
EXTERNAL = "external"
#: Kea answers config-test and config-set within its control channel's 10 s; a margin on top.
AGENT_TIMEOUT = 30.0


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


def agent_path(family: Family, *parts: object, query: dict[str, Any] | None = None) -> str:
    path = f"/dhcp/{family}" + "".join("/" + urllib.parse.quote(str(p), safe="") for p in parts)
    given = {k: v for k, v in (query or {}).items() if v is not None}
    return path + ("?" + urllib.parse.urlencode(given) if given else "")


def call(
    config: CentralConfig,
    server: Server,
    method: str,
    path: str,
    body: Any = None,
) -> Any:
    """One request to the server's dhcp-agent; an agent's refusal is raised as it came."""
    if server.state == "revoked":
        raise ProblemError(
            409, f"Server {server.id} is revoked: Central no longer calls its agent.",
            field="dhcp_server_id",
        )  # fmt: skip
    target = agent_client.AgentAddress(server.address, server.port, server.fingerprint)
    data = None if body is None else json.dumps(body).encode()
    try:
        status, answer = agent_client.call(
            config.root, target, method, path, data, timeout=AGENT_TIMEOUT
        )
    except agent_client.PinMismatchError as exc:
        raise ProblemError(502, exc.message, field="dhcp_server_id") from None
    except (OSError, http.client.HTTPException) as exc:
        raise ProblemError(
            502,
            f"The dhcp-agent of server {server.id} ({server.address}:{server.port}) is "
            f"unreachable: {exc or exc.__class__.__name__}",
            field="dhcp_server_id",
        ) from None
    if status >= 400:
        detail = answer.get("detail") if isinstance(answer, dict) else None
        field = answer.get("field") if isinstance(answer, dict) else None
        raise ProblemError(
            status if status in (404, 409, 422) else 502,
            str(detail or f"The dhcp-agent answered HTTP {status}."),
            field=str(field) if field else None,
        )
    return answer


# --- the snapshot ---------------------------------------------------------------------------
def _scopes(top: Json, family: Family) -> list[Json]:
    # scopes_from_config fills in missing lists: it gets a copy, not the stored configuration
    scopes = kea.scopes_from_config(orjson.loads(orjson.dumps(top)), family)
    return [s.model_dump(mode="json", exclude_none=True) for s in scopes]


_SECTIONS: dict[str, Callable[[Json, Family], Any]] = {
    "scopes": _scopes,
    "shared_networks": lambda top, _family: [
        kea.shared_network_from_kea(n).model_dump(mode="json", exclude_none=True)
        for n in top.get("shared-networks", [])
    ],
    "classes": lambda top, _family: [
        kea.class_from_kea(c).model_dump(mode="json", exclude_none=True)
        for c in top.get("client-classes", [])
    ],
    "options": lambda top, _family: [
        o.model_dump(mode="json", exclude_none=True) for o in kea.options_from(top)
    ],
    "option_definitions": lambda top, _family: [
        kea.option_def_from_kea(d).model_dump(mode="json", exclude_none=True)
        for d in top.get("option-def", [])
    ],
    "properties": lambda top, family: kea.properties_from_config(top, family).model_dump(
        mode="json", exclude_none=True
    ),
}


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

    def __getitem__(self, name: str) -> Any:
        if name not in self._made:
            self._made[name] = _SECTIONS[name](self._top, self._family)
        return self._made[name]

    def __iter__(self) -> Iterator[str]:
        return iter(_SECTIONS)

    def __len__(self) -> int:
        return len(_SECTIONS)

    def scope(self, scope_id: int) -> Json | None:
        """One scope by id, without making the others (once they are made, from those)."""
        if "scopes" in self._made:
            return next((s for s in self._made["scopes"] if s.get("id") == scope_id), None)
        key = kea.subnet_key(self._family)
        lists = [(None, self._top.get(key, []))]
        lists += [(n.get("name"), n.get(key, [])) for n in self._top.get("shared-networks", [])]
        for network, entries in lists:
            for entry in entries:
                if entry.get("id") == scope_id:
                    copied = orjson.loads(orjson.dumps(entry))
                    scope = kea.scope_from_kea(copied, network)
                    found: Json = scope.model_dump(mode="json", exclude_none=True)
                    return found
        return None


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
) -> tuple[tuple[str, ConfigView] | None, DhcpSnapshot]:
    """Read the daemon's configuration into the snapshot.

    ``digest``: the hash a change answered; the agent then answers the configuration it read
    after the change without asking Kea again (a later change by someone else is caught by
    the next change's ``known_hash`` or the next sync).

    Returns the hash and view of the snapshot it replaced (None if there was none) and the
    current row. The old configuration is read from the database only if its view is not
    cached and someone looks into it.
    """
    state = call(config, server, "GET", agent_path(family, "config", query={"hash": digest}))
    row = snapshot_row(db, server, family)
    old = None
    if row is None:
        row = DhcpSnapshot(server_id=server.id, family=family)
        db.add(row)
    else:
        old = (row.hash, row_view(row))
    row.hash = str(state["hash"])
    row.config = state["config"]
    row.synced_at = now()
    return old, row


def current_view(db: Session, config: CentralConfig, server: Server, family: Family) -> ConfigView:
    """The snapshot's objects (read from the agent first if Central has none yet)."""
    row = snapshot_row(db, server, family)
    if row is None:
        _old, row = refresh(db, config, server, family)
        db.commit()
    return row_view(row)


def server_public(db: Session, server: Server) -> Json:
    snapshots = {
        r.family: {"hash": r.hash, "synced_at": jsonable(r.synced_at)}
        for r in db.scalars(select(DhcpSnapshot).where(DhcpSnapshot.server_id == server.id))
    }
    return {
        "id": server.id,
        "name": server.name,
        "address": server.address,
        "port": server.port,
        "state": server.state,
        "local": server.local,
        "snapshots": snapshots,
    }


# --- changes --------------------------------------------------------------------------------
Pick = Callable[[Mapping[str, Any]], Any]


def change(
    db: Session,
    config: CentralConfig,
    actor: Principal | str,
    server: Server,
    family: Family,
    method: str,
    path: str,
    body: Any,
    *,
    object_type: str,
    object_id: str | None,
    action: str,
    pick: Pick,
    comment: str = "",
) -> tuple[Any, Any]:
    """Forward one change; when the agent applied it, refresh the snapshot and record it.

    ``pick`` takes the changed object out of a view (None when absent) for the history's
    before and after. Returns the agent's answer and the object after the change.
    """
    # A change made behind Central's back since the last sync is recorded first, as such,
    # so that it is neither lost nor mistaken for part of this change: the agent refuses the
    # change (409 on known_hash) unless the server still has the snapshot's configuration;
    # then Central syncs and repeats it once.
    row = snapshot_row(db, server, family)
    if row is None:
        sync_family(db, config, server, family)
        row = snapshot_row(db, server, family)
        assert row is not None
    for attempt in (1, 2):
        before = pick(row_view(row))
        try:
            answer = call(config, server, method, with_known_hash(path, row.hash), body)
            break
        except ProblemError as exc:
            if exc.field != "known_hash" or attempt == 2:
                raise
        sync_family(db, config, server, family)  # row now holds the server's configuration
    result = answer.get("change", answer) if isinstance(answer, dict) else {}
    try:
        _old, row = refresh(db, config, server, family, result.get("after"))
    except ProblemError:
        # Applied, but not read back: record it (the next sync takes in the configuration).
        db.rollback()
        record(
            db, actor, object_type, history_id(server, family, object_id), action,
            before=_boxed(before), after=None, comment=comment,
        )  # fmt: skip
        db.commit()
        raise ProblemError(
            502,
            "The change was applied, but Central could not read the configuration back; "
            "the next sync will show it.",
            field="dhcp_server_id",
        ) from None
    after = pick(row_view(row))
    changed = result.get("changed", True) is not False
    if changed:
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
    return answer, after


def with_known_hash(path: str, digest: str) -> str:
    """``path`` with the agent's ``known_hash`` query parameter."""
    return path + ("&" if "?" in path else "?") + urllib.parse.urlencode({"known_hash": digest})


def history_id(server: Server, family: Family, *parts: object) -> str:
    """The history's object id of a DHCP object: ``SERVER:FAMILY[:OBJECT]``."""
    return ":".join(str(p) for p in (server.id, family, *parts) if p is not None)[:64]


def _boxed(value: Any) -> Json | None:
    if value is None or isinstance(value, dict):
        return value
    if isinstance(value, Mapping):  # a whole view
        return dict(value)
    return {"value": value}


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
def sync_family(db: Session, config: CentralConfig, server: Server, family: Family) -> Json:
    """Compare one daemon's hash with the snapshot; take in and record a change found."""
    known = snapshot_row(db, server, family)
    state = call(config, server, "GET", agent_path(family, "config", "hash"))
    if known is not None and known.hash == state["hash"]:
        known.synced_at = now()
        db.commit()
        return {"hash": known.hash, "changed": False}
    old, row = refresh(db, config, server, family)
    if old is not None:
        old_hash, before = old
        after = row_view(row)
        keys = [k for k in after if before.get(k) != after.get(k)]
        record(
            db,
            EXTERNAL,
            "dhcp-config",
            history_id(server, family),
            "external-change",
            before={"hash": old_hash, **{k: before.get(k) for k in keys}},
            after={"hash": row.hash, **{k: after.get(k) for k in keys}},
            comment="changed on the server, outside Central",
        )
        log.info("server %s %s: external change (%s)", server.id, family, ", ".join(keys))
    db.commit()
    return {"hash": row.hash, "changed": old is not None}


def sync(db: Session, config: CentralConfig, server: Server) -> Json:
    """Compare the agent's configuration hashes with the snapshots; take in what changed."""
    families = {family: sync_family(db, config, server, family) for family in FAMILIES}
    pushed = replicate_missing(db, config, server)
    return {"server_id": server.id, "families": families, "global_classes": pushed}


def sync_all(db: Session, config: CentralConfig) -> None:
    for server in managed_servers(db):
        try:
            sync(db, config, server)
        except Exception as exc:  # one unreachable server must not stop the others
            db.rollback()
            log.warning("DHCP sync of server %s failed: %s", server.id, exc)


# --- global client classes -------------------------------------------------------------------
def put_class(
    db: Session,
    config: CentralConfig,
    actor: Principal,
    server: Server,
    family: Family,
    body: Json,
    *,
    is_global: bool,
    comment: str,
) -> Json:
    """Put a class on ``server``; a global class on every managed DHCP server as well."""
    name = body["name"]
    targets = [server]
    stored = db.scalar(
        select(GlobalClass).where(GlobalClass.family == family, GlobalClass.name == name)
    )
    if is_global or stored is not None:
        targets += [s for s in managed_servers(db) if s.id != server.id]
    replicated, failed = [], []
    for index, target in enumerate(targets):
        try:
            change(
                db, config, actor, target, family, "PUT", agent_path(family, "classes", name),
                body, object_type="dhcp-class", object_id=name, action="update",
                pick=by_key("classes", "name", name), comment=comment,
            )  # fmt: skip
        except ProblemError as exc:
            if index == 0:
                raise  # the server asked for refused it: nothing was changed anywhere
            db.rollback()
            failed.append({"server_id": target.id, "detail": exc.message})
            continue
        replicated.append(target.id)
    if is_global:
        if stored is None:
            stored = GlobalClass(family=family, name=name, body=body)
            db.add(stored)
        stored.body, stored.updated_at = body, now()
    elif stored is not None:
        db.delete(stored)  # saved without the flag: no longer global
    db.commit()
    cls = by_key("classes", "name", name)(current_view(db, config, server, family))
    return {**(cls or body), "global": is_global, "servers": replicated, "failed": failed}


def delete_class(
    db: Session,
    config: CentralConfig,
    actor: Principal,
    server: Server,
    family: Family,
    name: str,
    comment: str,
) -> Json:
    stored = db.scalar(
        select(GlobalClass).where(GlobalClass.family == family, GlobalClass.name == name)
    )
    targets = [server]
    if stored is not None:
        targets += [s for s in managed_servers(db) if s.id != server.id]
    done, failed = [], []
    for index, target in enumerate(targets):
        try:
            change(
                db, config, actor, target, family, "DELETE",
                agent_path(family, "classes", name), None, object_type="dhcp-class",
                object_id=name, action="delete", pick=by_key("classes", "name", name),
                comment=comment,
            )  # fmt: skip
        except ProblemError as exc:
            if index == 0:
                raise
            db.rollback()
            failed.append({"server_id": target.id, "detail": exc.message})
            continue
        done.append(target.id)
    if stored is not None:
        db.delete(stored)
    db.commit()
    return {"name": name, "servers": done, "failed": failed}


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
            change(
                db, config, "system", server, family, "PUT",
                agent_path(family, "classes", stored.name), stored.body,
                object_type="dhcp-class", object_id=stored.name, action="replicate",
                pick=by_key("classes", "name", stored.name),
                comment="global class replicated to this server",
            )  # fmt: skip
            pushed.append(f"{family}/{stored.name}")
    return pushed


# --- lists of objects -------------------------------------------------------------------------
def listing(
    items: list[Json], params: ListParams, fields: tuple[str, ...], text_fields: tuple[str, ...]
) -> Json:
    """``filter``, ``sort``, ``offset``, ``limit`` over objects read from the snapshot."""

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
    return {"items": page, "total": len(chosen), "offset": params.offset, "limit": params.limit}


def _sort_key(value: Any) -> tuple[int, Any]:
    if isinstance(value, int | float):
        return (0, value)
    return (1, "" if value is None else str(value))


def _split(term: str) -> tuple[str, str, str]:
    for i, char in enumerate(term):
        if char in ":~":
            return term[:i], char, term[i + 1 :]
    return term, "", ""
