"""Central's caching routes without an appliance: the service against an in-memory dns-agent
that answers as the agent's contract says (a change recorded in the history as readable lines,
the agent's refusal passed on with ``settings.`` before each field, a lost answer settled by
reading the settings back, the hit ratio, a flush recorded). The same behaviour against a real
caching appliance: tests/central_caching."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from pydantic import ValidationError as PydanticError
from sqlalchemy import select
from sqlalchemy.orm import Session

from central.caching import agent, service
from central.caching.schemas import FlushRequest, SettingsRequest
from central.core.config import CentralConfig
from central.core.db import make_engine, make_sessions, migrate
from central.core.deps import Principal
from central.history.models import Change
from central.registry.models import Server
from services.common.agent_client import AnswerLostError, OutcomeUnknownError
from services.common.caching.contract import CachingSettings
from services.common.errors import BurrowError, DaemonError, ValidationError
from services.common.paths import StateRoot

ADMIN = Principal(1, "admin", "administrator", 1, "session")
STATS = {
    "queries": 200, "cache_hits": 150, "cache_misses": 50, "prefetches": 3,
    "recursive_replies": 50, "rcodes": {"NOERROR": 190, "NXDOMAIN": 10},
    "requestlist_avg": 0.1, "recursion_time_avg": 0.02, "uptime_seconds": 60.0,
    "msg_cache_count": 40, "rrset_cache_count": 80, "raw": {"total.num.queries": 200.0},
}  # fmt: skip


class FakeAgent:
    """The agent's caching routes in memory: settings stored, a refusal or a lost answer on
    demand."""

    where = "198.51.100.2:1337"

    def __init__(self) -> None:
        self.settings = CachingSettings()
        self.refuse: dict[str, Any] | None = None
        self.lose_after_apply = False
        self.flushed: list[dict[str, Any]] = []

    def request(
        self, method: str, path: str, body: bytes | None, *, content_type: str, timeout: float
    ) -> tuple[int, bytes]:
        if (method, path) == ("GET", "/caching/settings"):
            return 200, orjson.dumps(self.settings.model_dump(mode="json"))
        if (method, path) == ("PUT", "/caching/settings"):
            if self.refuse is not None:
                return 422, orjson.dumps(self.refuse)
            self.settings = CachingSettings.model_validate_json(body or b"{}")
            if self.lose_after_apply:
                raise AnswerLostError("the connection was closed by the other side")
            return 200, orjson.dumps(self.settings.model_dump(mode="json"))
        if (method, path) == ("GET", "/caching/stats"):
            return 200, orjson.dumps(STATS)
        if (method, path) == ("POST", "/caching/flush"):
            asked = orjson.loads(body or b"{}")
            self.flushed.append(asked)
            detail = "ok removed 3 rrsets, 2 messages and 0 key entries"
            return 200, orjson.dumps({**asked, "detail": detail})
        return 404, orjson.dumps({"detail": f"no route {path}"})


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Session]:
    engine = make_engine(f"sqlite:///{tmp_path / 'central.db'}")
    migrate(engine)
    with make_sessions(engine)() as session:
        session.add(Server(kind="caching", name="cache-1", address="198.51.100.2", port=1337,
                           fingerprint="AA"))  # fmt: skip
        session.add(Server(kind="dns", name="dns-1", address="198.51.100.3", port=1337))
        session.commit()
        yield session
    engine.dispose()


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeAgent:
    found = FakeAgent()

    def client_for(db: Session, config: CentralConfig, server_id: int) -> agent.CachingAgentClient:
        agent.caching_server(db, server_id)
        return agent.CachingAgentClient(found)

    monkeypatch.setattr(agent, "client_for", client_for)
    return found


@pytest.fixture
def config(tmp_path: Path) -> CentralConfig:
    return CentralConfig(root=StateRoot.at(tmp_path / "root"))


def _server(db: Session, kind: str) -> int:
    return int(db.scalars(select(Server.id).where(Server.kind == kind)).one())


def _history(db: Session) -> list[Change]:
    return list(db.scalars(select(Change).order_by(Change.id)))


def test_a_change_reaches_the_agent_and_the_history_reads_as_lines(
    db: Session, config: CentralConfig, fake: FakeAgent
) -> None:
    sid = _server(db, "caching")
    wanted = CachingSettings.model_validate({
        "forwarders": [{"address": "198.51.100.53"}, {"address": "198.51.100.54", "port": 5353}],
        "forward_zones": [{"name": "corp.example", "servers": [{"address": "10.1.1.1"}],
                           "first": True}],
        "local_zones": [{"name": "lan.example", "records": ["www.lan.example A 10.0.0.5"]}],
        "access": [{"network": "10.0.0.0/8"}],
        "cache_max_ttl": 3600,
    })  # fmt: skip
    view = service.set_settings(
        db, config, ADMIN, sid, SettingsRequest(settings=wanted, comment="office forwarders")
    )
    assert view.settings == wanted == fake.settings
    assert view.server_name == "cache-1"
    (change,) = _history(db)
    assert (change.object_type, change.object_id, change.action, change.comment) == (
        "caching-settings",
        str(sid),
        "update",
        "office forwarders",
    )
    assert change.actor == "admin"
    assert change.before is not None and change.after is not None
    assert change.before["name"] == change.after["name"] == "cache-1"
    assert change.before["forwarders"] == []
    assert change.after["forwarders"] == ["198.51.100.53", "198.51.100.54@5353"]
    assert change.after["forward_zones"] == ["corp.example. to 10.1.1.1 (then from the root)"]
    assert change.after["local_zones"] == ["lan.example. static"]
    assert change.after["local_data"] == ["www.lan.example. 3600 IN A 10.0.0.5"]
    assert change.after["access"] == ["10.0.0.0/8 allow"]
    assert (change.before["cache_max_ttl"], change.after["cache_max_ttl"]) == (86400, 3600)


def test_the_agents_refusal_names_the_field_in_centrals_terms_and_records_nothing(
    db: Session, config: CentralConfig, fake: FakeAgent
) -> None:
    sid = _server(db, "caching")
    fake.refuse = {
        "type": "urn:burrow:problem:validation-error", "title": "Unprocessable", "status": 422,
        "detail": "forwarders[0].address: is this appliance itself",
        "problems": [{"field": "forwarders[0].address", "message": "is this appliance itself"}],
    }  # fmt: skip
    wanted = CachingSettings.model_validate({"forwarders": [{"address": "198.51.100.2"}]})
    with pytest.raises(BurrowError) as caught:
        service.set_settings(db, config, ADMIN, sid, SettingsRequest(settings=wanted))
    assert caught.value.status == 422
    assert [p.field for p in caught.value.problems] == ["settings.forwarders[0].address"]
    assert caught.value.problems[0].message == "is this appliance itself"
    assert _history(db) == []
    assert fake.settings == CachingSettings()


def test_a_lost_answer_is_settled_by_reading_the_settings_back(
    db: Session, config: CentralConfig, fake: FakeAgent
) -> None:
    sid = _server(db, "caching")
    fake.lose_after_apply = True
    wanted = CachingSettings.model_validate({"prefetch": False})
    view = service.set_settings(db, config, ADMIN, sid, SettingsRequest(settings=wanted))
    assert view.settings.prefetch is False
    assert len(_history(db)) == 1


def test_a_lost_answer_of_a_change_not_applied_is_a_502_and_recorded_nowhere(
    db: Session, config: CentralConfig, fake: FakeAgent, monkeypatch: pytest.MonkeyPatch
) -> None:
    sid = _server(db, "caching")
    client = agent.client_for(db, config, sid)

    def lost(settings: CachingSettings) -> CachingSettings:
        raise OutcomeUnknownError("lost")

    monkeypatch.setattr(client, "put_settings", lost)
    monkeypatch.setattr(agent, "client_for", lambda *_: client)
    with pytest.raises(DaemonError, match="nothing was changed"):
        service.set_settings(
            db, config, ADMIN, sid,
            SettingsRequest(settings=CachingSettings.model_validate({"prefetch": False})),
        )  # fmt: skip
    assert _history(db) == []


def test_a_server_of_another_kind_is_refused_by_name(
    db: Session, config: CentralConfig, fake: FakeAgent
) -> None:
    dns = _server(db, "dns")
    with pytest.raises(ValidationError) as caught:
        service.get_settings(db, config, dns)
    assert caught.value.field == "server_id"
    assert "not a caching DNS server" in caught.value.message
    assert caught.value.hint == f"a DNS server's options are at /api/v1/dns/servers/{dns}/options"


def test_the_dns_routes_send_a_caching_server_to_its_settings(db: Session) -> None:
    from central.dns.agent import require_dns

    sid = _server(db, "caching")
    with pytest.raises(ValidationError) as caught:
        require_dns(db, sid)
    assert caught.value.field == "server_id"
    assert "caching DNS server (Unbound)" in caught.value.message
    assert caught.value.hint is not None and f"/caching/servers/{sid}/settings" in caught.value.hint


def test_statistics_with_the_hit_ratio_and_a_flush_in_the_history(
    db: Session, config: CentralConfig, fake: FakeAgent
) -> None:
    sid = _server(db, "caching")
    stats = service.stats(db, config, sid)
    assert stats.hit_ratio == 0.75
    assert stats.stats.rcodes["NXDOMAIN"] == 10
    done = service.flush(
        db, config, ADMIN, sid, FlushRequest(name="Example.COM", zone=True, comment="stale")
    )
    assert fake.flushed == [{"name": "example.com.", "zone": True, "type": None,
                             "negative": False}]  # fmt: skip
    assert done.flushed.detail.startswith("ok removed")
    (change,) = _history(db)
    assert (change.object_type, change.action, change.comment) == ("caching-cache", "flush",
                                                                  "stale")  # fmt: skip
    assert change.after == {
        "name": "cache-1",
        "flushed": "every name at and below example.com.",
        "detail": "ok removed 3 rrsets, 2 messages and 0 key entries",
    }
    service.flush(
        db, config, ADMIN, sid, FlushRequest(name="example.com", type="txt", negative=True)
    )
    assert fake.flushed[-1] == {"name": "example.com.", "zone": False, "type": "TXT",
                                "negative": True}  # fmt: skip
    assert _history(db)[-1].after is not None
    assert _history(db)[-1].after["flushed"] == (
        "the TXT records of example.com. and every negative answer"
    )
    with pytest.raises(PydanticError, match="give zone or type"):
        FlushRequest(name="example.com", zone=True, type="A")


def test_the_caching_servers_are_listed(db: Session) -> None:
    assert [s.name for s in service.servers(db)] == ["cache-1"]


def test_a_fleet_takes_the_agents_of_either_kind_of_appliance() -> None:
    from central.fleet.service import KINDS, _one_appliance

    assert _one_appliance(["appliance", "dns", "dhcp"]) == ("dns", "dhcp", "appliance")
    assert _one_appliance({"caching": "x", "appliance": "y"}) == ("caching", "appliance")
    assert _one_appliance(["dns", "caching", "appliance"]) is None
    assert _one_appliance(["caching"]) is None
    assert set(KINDS) == {"dns", "dhcp", "caching", "appliance"}
