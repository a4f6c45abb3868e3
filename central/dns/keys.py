"""TSIG keys as objects of a DNS server: made, listed and deleted through Central.

Central makes the secret (``services.common.dns.tsig.new_secret``), sends it to the server's
dns-agent, which gives it to named, and shows it once, in the answer that creates the key.
Central stores the key's name and algorithm only; the history records them without the secret.
A key that a zone names (``update_keys``, ``transfer_keys``) is not deleted: the refusal names
the zones.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from central.core.config import CentralConfig
from central.core.deps import Principal
from central.dns.agent import client_for
from central.dns.models import DnsTsigKey, DnsZone
from central.dns.settle import settle
from central.history import service as history
from services.common.dns.tsig import TsigKeyInstall, TsigKeyPublic, TsigKeySpec, new_secret
from services.common.errors import ConflictError, NotFoundError

OBJECT_TYPE = "dns-tsig-key"
_guard = threading.Lock()
_servers: dict[int, threading.RLock] = {}


@contextlib.contextmanager
def server_lock(server_id: int) -> Iterator[None]:
    """Changes to one server's keys and policies, one at a time (the dns-agent loads each
    into named's configuration, which it guards itself too)."""
    with _guard:
        lock = _servers.setdefault(server_id, threading.RLock())
    with lock:
        yield


ID = Field(ge=1, le=2**31 - 1)


class TsigKeyRequest(TsigKeySpec):
    """A new TSIG key on DNS server ``server_id``; Central makes its secret."""

    server_id: int = ID
    comment: str = Field(default="", max_length=1000, description="save comment")


class TsigKeyView(BaseModel):
    """A TSIG key as every read shows it: never its secret."""

    model_config = ConfigDict(extra="ignore")

    id: int
    server_id: int
    name: str
    algorithm: str
    zones: list[str] = Field(description="zones that grant it updates or transfers")
    created_at: dt.datetime


class TsigKeyCreated(TsigKeyView):
    """A new key with its secret (base64), which is in this answer only: keep it now."""

    secret: str = Field(description="the secret; shown in this answer only")


class TsigKeyPage(BaseModel):
    items: list[TsigKeyView]
    total: int


def _zones_using(db: Session, key: DnsTsigKey) -> list[str]:
    zones = db.scalars(select(DnsZone).where(DnsZone.server_id == key.server_id))
    return sorted(z.name for z in zones if key.name in _named(z.spec or {}))


def _named(spec: dict[str, Any]) -> set[str]:
    """The TSIG key objects a zone's options name (updates, grants, transfers)."""
    grants = [g.get("key") for g in spec.get("update_grants", []) if isinstance(g, dict)]
    return {*spec.get("update_keys", []), *spec.get("transfer_keys", []), *grants}


def view(db: Session, key: DnsTsigKey) -> TsigKeyView:
    return TsigKeyView(
        id=key.id, server_id=key.server_id, name=key.name, algorithm=key.algorithm,
        zones=_zones_using(db, key), created_at=key.created_at,
    )  # fmt: skip


def _public(key: DnsTsigKey) -> dict[str, object]:
    return {"server_id": key.server_id, "name": key.name, "algorithm": key.algorithm}


def list_keys(db: Session, server_id: int | None) -> TsigKeyPage:
    query = select(DnsTsigKey).order_by(DnsTsigKey.server_id, DnsTsigKey.name)
    if server_id is not None:
        query = query.where(DnsTsigKey.server_id == server_id)
    items = [view(db, key) for key in db.scalars(query)]
    return TsigKeyPage(items=items, total=len(items))


def get_key(db: Session, key_id: int) -> DnsTsigKey:
    key = db.get(DnsTsigKey, key_id)
    if key is None:
        raise NotFoundError(f"There is no TSIG key {key_id}.", field="key_id")
    return key


def _served(keys: list[TsigKeyPublic], name: str) -> TsigKeyPublic | None:
    return next((k for k in keys if k.name == name), None)


def create_key(
    db: Session, config: CentralConfig, actor: Principal, body: TsigKeyRequest
) -> TsigKeyCreated:
    with server_lock(body.server_id):
        return _create_key(db, config, actor, body)


def _create_key(
    db: Session, config: CentralConfig, actor: Principal, body: TsigKeyRequest
) -> TsigKeyCreated:
    client = client_for(db, config, body.server_id)
    taken = db.scalar(
        select(DnsTsigKey.id).where(
            DnsTsigKey.server_id == body.server_id, DnsTsigKey.name == body.name
        )
    )
    if taken:
        raise ConflictError(f"There is a TSIG key {body.name} already.", field="name")
    secret = new_secret(body.algorithm)
    install = TsigKeyInstall(name=body.name, algorithm=body.algorithm, secret=secret)
    settle(
        lambda: client.add_key(install),
        lambda: _served(client.keys(), body.name),
        what=f"Adding TSIG key {body.name}",
    )
    key = DnsTsigKey(server_id=body.server_id, name=body.name, algorithm=body.algorithm)
    db.add(key)
    db.flush()
    history.record(
        db, actor, OBJECT_TYPE, key.id, "create", after=_public(key), comment=body.comment
    )
    db.commit()
    return TsigKeyCreated(**view(db, key).model_dump(), secret=secret)


def delete_key(
    db: Session, config: CentralConfig, actor: Principal, key_id: int, comment: str
) -> None:
    key = get_key(db, key_id)
    with server_lock(key.server_id):
        _delete_key(db, config, actor, key, comment)


def _delete_key(
    db: Session, config: CentralConfig, actor: Principal, key: DnsTsigKey, comment: str
) -> None:
    users = _zones_using(db, key)
    if users:
        raise ConflictError(
            f"TSIG key {key.name} is in use by zone {', '.join(users)}; take it out of the "
            "zone first.",
            field="key_id",
        )
    client = client_for(db, config, key.server_id)

    def delete() -> bool:
        try:
            client.delete_key(key.name)
        except NotFoundError:
            pass  # already gone from the server: nothing to undo
        return True

    settle(
        delete,
        lambda: True if _served(client.keys(), key.name) is None else None,
        what=f"Deleting TSIG key {key.name}",
    )
    history.record(db, actor, OBJECT_TYPE, key.id, "delete", before=_public(key), comment=comment)
    db.delete(key)
    db.commit()
