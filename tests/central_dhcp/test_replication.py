"""Global client classes across several DHCP servers, and changes whose answer was lost
(unit tests: the real agent routes over an in-memory Kea per server).

The sandbox tests (test_dhcp_api.py) drive the one DHCP server of an appliance; here three
servers of the registry answer through the dhcp-agent's routes over ``MemoryKea`` (the typed
client over an in-process transport), so that the replication to every managed server, a
failing server and a late-registered one are checked, and Central's settling of a change whose
answer was lost.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from central.core.config import CentralConfig
from central.core.db import make_engine, make_sessions, migrate
from central.core.deps import Principal
from central.dhcp import service
from central.history.models import Change
from central.registry.models import Server
from services.common.agent_client import OutcomeUnknownError
from services.common.dhcp.client import DhcpAgentClient
from services.common.dhcp.contract import ClientClass, Scope
from services.common.errors import BurrowError, DaemonError, UnavailableError, ValidationError
from services.common.paths import StateRoot
from services.dhcp.memory import MemoryKea
from tests.unit.test_dhcp_client import AppTransport, Flaky, agent_app

ADMIN = Principal(1, "admin", "administrator", 1, "session")


class FakeAgents:
    """A dhcp-agent over an in-memory Kea per server, behind a transport that can fail."""

    def __init__(self) -> None:
        self.keas: dict[int, MemoryKea] = {}
        self.wires: dict[int, Flaky] = {}

    def add(self, server: Server) -> None:
        kea = MemoryKea()
        self.keas[server.id] = kea
        self.wires[server.id] = Flaky(AppTransport(agent_app(kea)))

    def client(self, _config: Any, server: Server) -> DhcpAgentClient:
        return DhcpAgentClient(self.wires[server.id])

    def dhcp4(self, server_id: int) -> dict[str, Any]:
        config: dict[str, Any] = self.keas[server_id].running["dhcp4"]["Dhcp4"]
        return config

    def classes(self, server_id: int) -> list[str]:
        return [c["name"] for c in self.dhcp4(server_id).get("client-classes", [])]


def cls(name: str, test: str) -> ClientClass:
    return ClientClass(name=name, test=test)


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
    monkeypatch.setattr(service, "agent_for", fake.client)
    monkeypatch.setattr(service, "SETTLE_SECONDS", 0.5)
    monkeypatch.setattr(service, "SETTLE_INTERVAL", 0.05)
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
    agents.wires[three.id].down = True
    body = cls("phones", "option[60].hex == 'SIP'")
    answer = service.put_class(db, config, ADMIN, one, "v4", body, is_global=True, comment="c")
    assert answer.servers == [one.id, two.id]
    assert [f.server_id for f in answer.failed] == [three.id]
    assert "cannot be reached" in answer.failed[0].detail
    assert agents.classes(one.id) == agents.classes(two.id) == ["phones"]
    assert agents.classes(three.id) == []
    entries = db.scalars(select(Change).where(Change.object_type == "dhcp-class")).all()
    assert sorted(e.object_id for e in entries) == [f"{one.id}:v4:phones", f"{two.id}:v4:phones"]

    # a change made on any server goes to all; the server that was down gets it at its sync
    agents.wires[three.id].down = False
    changed = cls("phones", "option[60].hex == 'SIP/2'")
    service.put_class(db, config, ADMIN, two, "v4", changed, is_global=False, comment="")
    assert agents.classes(three.id) == ["phones"]  # still global: replicated everywhere
    assert service.global_names(db, "v4") == set()  # saved without the flag: no longer global
    service.put_class(db, config, ADMIN, two, "v4", changed, is_global=True, comment="")
    agents.dhcp4(three.id)["client-classes"] = []
    synced = service.sync(db, config, three)
    assert synced.global_classes == ["v4/phones"]
    assert agents.dhcp4(three.id)["client-classes"][0]["test"] == changed.test

    # deleting a global class deletes it everywhere
    gone = service.delete_class(db, config, ADMIN, one, "v4", "phones", "")
    assert gone.servers == [one.id, two.id, three.id]
    assert agents.classes(one.id) == agents.classes(two.id) == agents.classes(three.id) == []


def test_a_class_refused_by_the_server_asked_for_changes_nothing_anywhere(
    db: Session, agents: FakeAgents, tmp_path: Path
) -> None:
    config = CentralConfig(root=StateRoot(tmp_path))
    one, two = add_server(db, agents, "one"), add_server(db, agents, "two")
    agents.keas[one.id].refuse["config-test"] = (
        "expression: [bad(] error: <string>:1.1: Invalid character: b at (<wire>:0:84)"
    )
    with pytest.raises(ValidationError) as refused:
        service.put_class(db, config, ADMIN, one, "v4", cls("x", "bad("), is_global=True,
                          comment="")  # fmt: skip
    assert refused.value.status == 422 and refused.value.field == "test"
    assert refused.value.code == "refused-by-daemon"
    assert "<wire>" not in refused.value.message
    assert agents.classes(one.id) == agents.classes(two.id) == []
    assert service.global_names(db, "v4") == set()
    assert db.scalars(select(Change)).all() == []


def test_a_change_applied_but_not_read_back_is_still_recorded(
    db: Session, agents: FakeAgents, tmp_path: Path
) -> None:
    config = CentralConfig(root=StateRoot(tmp_path))
    one = add_server(db, agents, "one")
    service.sync(db, config, one)
    agents.wires[one.id].down_for = {"/dhcp/v4/config"}
    with pytest.raises(DaemonError) as failed:
        service.put_class(db, config, ADMIN, one, "v4", cls("x", "member('ALL')"),
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
    agents.dhcp4(one.id)["client-classes"].append(outside)  # behind Central's back
    service.put_class(db, config, ADMIN, one, "v4", cls("x", "member('ALL')"), is_global=False,
                      comment="mine")  # fmt: skip
    assert agents.classes(one.id) == ["outside", "x"]
    entries = db.scalars(select(Change).order_by(Change.id)).all()
    assert [(e.actor, e.action) for e in entries] == [
        ("external", "external-change"),
        ("admin", "update"),
    ]
    assert [c["name"] for c in entries[0].after["classes"]] == ["outside"]
    assert entries[1].before is None and entries[1].after["name"] == "x"


# --- the answer of a change lost -------------------------------------------------------------
SCOPE = Scope.model_validate(
    {"subnet": "198.51.100.0/27", "pools": [{"start": "198.51.100.10", "end": "198.51.100.20"}]}
)


def _create(db: Session, config: CentralConfig, server: Server) -> tuple[Any, Any]:
    return service.change(
        db, config, ADMIN, server, "v4",
        lambda agent, known: agent.create_scope("v4", SCOPE, known_hash=known).change,
        object_type="dhcp-scope", object_id=None, action="create",
        pick=service.by_key("scopes", "subnet", SCOPE.subnet), comment="lost",
    )  # fmt: skip


def test_a_change_applied_whose_answer_was_lost_is_settled_by_reading_kea_back(
    db: Session, agents: FakeAgents, tmp_path: Path
) -> None:
    config = CentralConfig(root=StateRoot(tmp_path))
    one = add_server(db, agents, "one")
    service.sync(db, config, one)
    agents.wires[one.id].lose = {"POST"}
    result, after = _create(db, config, one)
    assert result.changed and after["subnet"] == "198.51.100.0/27" and after["id"] == 1
    kea = agents.dhcp4(one.id)["subnet4"]
    assert [(s["id"], s["subnet"]) for s in kea] == [(1, "198.51.100.0/27")]
    [entry] = db.scalars(select(Change).where(Change.object_type == "dhcp-scope")).all()
    assert (entry.object_id, entry.after, entry.comment) == (f"{one.id}:v4:1", after, "lost")
    assert "GET /dhcp/v4/config/hash" in agents.wires[one.id].sent  # read back


def test_a_change_lost_before_kea_took_it_changed_nothing_and_is_not_recorded(
    db: Session, agents: FakeAgents, tmp_path: Path
) -> None:
    config = CentralConfig(root=StateRoot(tmp_path))
    one = add_server(db, agents, "one")
    service.sync(db, config, one)
    wire = agents.wires[one.id]
    wire.lose, wire.applied = {"POST"}, False
    with pytest.raises(UnavailableError) as lost:
        _create(db, config, one)
    assert lost.value.status == 503 and "nothing was changed" in lost.value.message
    assert agents.dhcp4(one.id)["subnet4"] == []
    assert db.scalars(select(Change)).all() == []


def test_an_agent_that_stays_away_leaves_the_outcome_unknown(
    db: Session, agents: FakeAgents, tmp_path: Path
) -> None:
    config = CentralConfig(root=StateRoot(tmp_path))
    one = add_server(db, agents, "one")
    service.sync(db, config, one)
    wire = agents.wires[one.id]
    wire.lose = {"POST"}
    wire.down_for = {"/config/hash"}
    with pytest.raises(OutcomeUnknownError) as unknown:
        _create(db, config, one)
    assert unknown.value.status == 504
    assert isinstance(unknown.value, BurrowError) and unknown.value.hint
