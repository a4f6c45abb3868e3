"""Global client classes across several DHCP servers (unit test: an in-memory agent per server).

The sandbox tests (test_dhcp_api.py) drive the one DHCP server of an appliance; here three
servers of the registry answer through a fake of the agent's HTTP contract, so that the
replication to every managed server, a failing server and a late-registered one are checked.
"""

from __future__ import annotations

import hashlib
import json
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from central.core.config import CentralConfig
from central.core.db import make_engine, make_sessions, migrate
from central.core.deps import Principal
from central.core.problems import ProblemError
from central.dhcp import service
from central.history.models import Change
from central.registry.models import Server
from services.common.paths import StateRoot

ADMIN = Principal(1, "admin", "administrator", 1, "session")


class FakeAgents:
    """Each server's Dhcp4 configuration, changed as the agent would (classes only)."""

    def __init__(self) -> None:
        self.configs: dict[int, dict[str, Any]] = {}
        self.down: set[int] = set()
        self.unreadable: set[int] = set()  # changes are applied, the configuration not read

    def add(self, server: Server) -> None:
        self.configs[server.id] = {"Dhcp4": {"subnet4": [], "client-classes": []}}

    def state(self, server_id: int) -> dict[str, Any]:
        config = self.configs[server_id]
        digest = hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()
        return {"family": "v4", "hash": digest, "config": json.loads(json.dumps(config))}

    def classes(self, server_id: int) -> list[str]:
        return [c["name"] for c in self.configs[server_id]["Dhcp4"]["client-classes"]]

    def call(self, _config: Any, server: Server, method: str, path: str, body: Any = None) -> Any:
        if server.id in self.down:
            raise ProblemError(502, "unreachable", field="dhcp_server_id")
        path, _, query = path.partition("?")
        known = urllib.parse.parse_qs(query).get("known_hash", [None])[0]
        family = path.split("/")[2]
        if family == "v6":
            return {"family": "v6", "hash": "v6", "config": {"Dhcp6": {}}}
        before = self.state(server.id)["hash"]
        if known is not None and known != before:
            raise ProblemError(409, "changed since it was last read", field="known_hash")
        dhcp4 = self.configs[server.id]["Dhcp4"]
        if path.endswith("/config"):
            if server.id in self.unreadable:
                raise ProblemError(502, "unreachable", field="dhcp_server_id")
            return self.state(server.id)
        if path.endswith("/config/hash"):
            return {"family": "v4", "hash": before}
        name = path.rsplit("/", 1)[1]
        if body is not None and body.get("test") == "bad(":
            raise ProblemError(422, "the test expression does not parse", field="test")
        kept = [c for c in dhcp4["client-classes"] if c["name"] != name]
        if method == "PUT":
            kept.append({"name": name, "test": body["test"]})
        dhcp4["client-classes"] = kept
        after = self.state(server.id)["hash"]
        return {"family": "v4", "before": before, "after": after, "changed": before != after}


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Session]:
    engine = make_engine(f"sqlite:///{tmp_path / 'c.db'}")
    migrate(engine)
    with make_sessions(engine)() as session:
        yield session
    engine.dispose()


@pytest.fixture
def agents(monkeypatch: pytest.MonkeyPatch) -> FakeAgents:
    fake = FakeAgents()
    monkeypatch.setattr(service, "call", fake.call)
    return fake


def add_server(db: Session, agents: FakeAgents, name: str) -> Server:
    server = Server(kind="dhcp", name=name, address="198.51.100.9", port=4151,
                    fingerprint="f" * 64, state="reachable")  # fmt: skip
    db.add(server)
    db.commit()
    agents.add(server)
    return server


def test_a_global_class_goes_to_every_managed_server_and_a_new_one_gets_it_at_sync(
    db: Session, agents: FakeAgents, tmp_path: Path
) -> None:
    config = CentralConfig(root=StateRoot(tmp_path))
    one, two, three = (add_server(db, agents, n) for n in ("one", "two", "three"))
    agents.down.add(three.id)
    body = {"name": "phones", "test": "option[60].hex == 'SIP'"}
    answer = service.put_class(db, config, ADMIN, one, "v4", body, is_global=True, comment="c")
    assert answer["servers"] == [one.id, two.id]
    assert [f["server_id"] for f in answer["failed"]] == [three.id]
    assert agents.classes(one.id) == agents.classes(two.id) == ["phones"]
    assert agents.classes(three.id) == []
    entries = db.scalars(select(Change).where(Change.object_type == "dhcp-class")).all()
    assert sorted(e.object_id for e in entries) == [f"{one.id}:v4:phones", f"{two.id}:v4:phones"]

    # a change made on any server goes to all; the server that was down gets it at its sync
    agents.down.clear()
    changed = {"name": "phones", "test": "option[60].hex == 'SIP/2'"}
    service.put_class(db, config, ADMIN, two, "v4", changed, is_global=False, comment="")
    assert agents.classes(three.id) == ["phones"]  # still global: replicated everywhere
    assert service.global_names(db, "v4") == set()  # saved without the flag: no longer global
    service.put_class(db, config, ADMIN, two, "v4", changed, is_global=True, comment="")
    agents.configs[three.id]["Dhcp4"]["client-classes"] = []
    synced = service.sync(db, config, three)
    assert synced["global_classes"] == ["v4/phones"]
    assert agents.configs[three.id]["Dhcp4"]["client-classes"][0]["test"] == changed["test"]

    # deleting a global class deletes it everywhere
    gone = service.delete_class(db, config, ADMIN, one, "v4", "phones", "")
    assert gone["servers"] == [one.id, two.id, three.id]
    assert agents.classes(one.id) == agents.classes(two.id) == agents.classes(three.id) == []


def test_a_class_refused_by_the_server_asked_for_changes_nothing_anywhere(
    db: Session, agents: FakeAgents, tmp_path: Path
) -> None:
    config = CentralConfig(root=StateRoot(tmp_path))
    one, two = add_server(db, agents, "one"), add_server(db, agents, "two")
    with pytest.raises(ProblemError) as refused:
        service.put_class(db, config, ADMIN, one, "v4", {"name": "x", "test": "bad("},
                          is_global=True, comment="")  # fmt: skip
    assert refused.value.field == "test"
    assert agents.classes(one.id) == agents.classes(two.id) == []
    assert service.global_names(db, "v4") == set()
    assert db.scalars(select(Change)).all() == []


def test_a_change_applied_but_not_read_back_is_still_recorded(
    db: Session, agents: FakeAgents, tmp_path: Path
) -> None:
    config = CentralConfig(root=StateRoot(tmp_path))
    one = add_server(db, agents, "one")
    service.sync(db, config, one)
    agents.unreadable.add(one.id)
    with pytest.raises(ProblemError) as failed:
        service.put_class(db, config, ADMIN, one, "v4", {"name": "x", "test": "member('ALL')"},
                          is_global=False, comment="late")  # fmt: skip
    assert failed.value.status == 502 and "was applied" in failed.value.message
    assert agents.classes(one.id) == ["x"]
    [entry] = db.scalars(select(Change).where(Change.object_type == "dhcp-class")).all()
    assert (entry.actor, entry.comment, entry.after) == ("admin", "late", None)


def test_an_external_change_is_recorded_before_the_change_that_finds_it(
    db: Session, agents: FakeAgents, tmp_path: Path
) -> None:
    config = CentralConfig(root=StateRoot(tmp_path))
    one = add_server(db, agents, "one")
    service.sync(db, config, one)
    outside = {"name": "outside", "test": "member('ALL')"}
    agents.configs[one.id]["Dhcp4"]["client-classes"].append(outside)  # behind Central's back
    service.put_class(db, config, ADMIN, one, "v4", {"name": "x", "test": "member('ALL')"},
                      is_global=False, comment="mine")  # fmt: skip
    assert agents.classes(one.id) == ["outside", "x"]
    entries = db.scalars(select(Change).order_by(Change.id)).all()
    assert [(e.actor, e.action) for e in entries] == [
        ("external", "external-change"),
        ("admin", "update"),
    ]
    assert [c["name"] for c in entries[0].after["classes"]] == ["outside"]
    assert entries[1].before is None and entries[1].after["name"] == "x"
