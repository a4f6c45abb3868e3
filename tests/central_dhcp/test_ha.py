"""Kea HA pairs in Central (central.dhcp.ha) over the real agent routes and an in-memory Kea
per server: the checks refuse whole, a partner's refusal puts the primary back, the password
stays out of the history, and a change on one partner is made on the other. The real daemons
are in tests/fleet/test_ha_lab.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from central.core.config import CentralConfig
from central.dhcp import ha, service
from central.history.models import Change
from central.registry.models import Server
from services.common.dhcp.contract import Reservation
from services.common.errors import BurrowError
from services.common.launch import kea_hooks_dir
from services.common.paths import StateRoot
from tests.central_dhcp.test_replication import ADMIN, FakeAgents, add_server, agents, db

__all__ = ["agents", "db"]  # the fixtures


def _hooks() -> list[dict[str, str]]:
    where = kea_hooks_dir()
    return [{"library": f"{where}/libdhcp_lease_cmds.so"},
            {"library": f"{where}/libdhcp_stat_cmds.so"}]  # fmt: skip


def _pair(db: Session, agents: FakeAgents, scopes: list[str]) -> tuple[Server, Server]:
    one, two = add_server(db, agents, "one"), add_server(db, agents, "two")
    for server, subnets in ((one, ["198.51.100.0/27"]), (two, scopes)):
        top = agents.dhcp4(server.id)
        top["hooks-libraries"] = _hooks()
        top["subnet4"] = [{"id": i + 1, "subnet": s} for i, s in enumerate(subnets)]
    return one, two


def _ha_hooks(agents: FakeAgents, server: Server) -> list[Any]:
    return [h for h in agents.dhcp4(server.id)["hooks-libraries"]
            if h["library"].endswith("libdhcp_ha.so")]  # fmt: skip


def test_refusals_change_nothing_and_a_partners_refusal_puts_the_primary_back(
    db: Session, agents: FakeAgents, tmp_path: Path
) -> None:
    config = CentralConfig(root=StateRoot(tmp_path))
    one, two = _pair(db, agents, ["198.51.100.64/27"])
    with pytest.raises(BurrowError) as other:
        ha.set_up(db, config, ADMIN, ha.HaRequest(primary=one.id, partner=two.id))
    assert other.value.status == 409 and other.value.field == "partner"
    with pytest.raises(BurrowError) as same:
        ha.set_up(db, config, ADMIN, ha.HaRequest(primary=one.id, partner=one.id))
    assert same.value.status == 422 and same.value.field == "partner"

    agents.dhcp4(two.id)["subnet4"] = []
    before = dict(agents.dhcp4(one.id))
    agents.keas[two.id].refuse["config-test"] = "not today"
    with pytest.raises(BurrowError):
        ha.set_up(db, config, ADMIN, ha.HaRequest(primary=one.id, partner=two.id))
    assert agents.dhcp4(one.id) == before  # put back
    assert not _ha_hooks(agents, one) and not _ha_hooks(agents, two)
    assert ha.stored(db) is None
    actions = db.scalars(select(Change.action).where(Change.object_type == "dhcp-ha")).all()
    assert list(actions) == ["create", "undo"]


def test_a_pair_hides_its_password_and_replicates_changes(
    db: Session, agents: FakeAgents, tmp_path: Path
) -> None:
    config = CentralConfig(root=StateRoot(tmp_path))
    one, two = _pair(db, agents, [])
    pair = ha.set_up(db, config, ADMIN, ha.HaRequest(
        mode="load-balancing", primary=one.id, partner=two.id, comment="pair"))  # fmt: skip
    assert [p.role for p in pair.partners] == ["primary", "secondary"]
    assert agents.dhcp4(two.id)["subnet4"][0]["subnet"] == "198.51.100.0/27"  # copied
    (hook_one,), (hook_two,) = _ha_hooks(agents, one), _ha_hooks(agents, two)
    relation_one = hook_one["parameters"]["high-availability"][0]
    relation_two = hook_two["parameters"]["high-availability"][0]
    assert relation_one["this-server-name"] == "one" and relation_two["this-server-name"] == "two"
    assert relation_one["peers"] == relation_two["peers"]
    password = relation_one["peers"][0]["basic-auth-password"]
    assert len(password) >= 40
    assert agents.dhcp4(one.id)["multi-threading"]["enable-multi-threading"] is True
    history = " ".join(str((c.before, c.after)) for c in db.scalars(select(Change)).all())
    assert password not in history and "(hidden)" in history
    assert password not in pair.model_dump_json()

    # A reservation made on the secondary is made on the primary too.
    body = Reservation(hw_address="02:00:00:00:00:09", hostname="both")
    service.change(
        db, config, ADMIN, two, "v4",
        lambda agent, known: agent.add_reservation("v4", 1, body, known_hash=known),
        object_type="dhcp-reservation", object_id="1:02:00:00:00:00:09", action="create",
        pick=service.by_key("scopes", "id", 1), comment="r",
    )  # fmt: skip
    for server in (one, two):
        hosts = agents.dhcp4(server.id)["subnet4"][0]["reservations"]
        assert [h["hostname"] for h in hosts] == ["both"]

    removed = ha.remove(db, config, ADMIN, "off")
    assert removed.kept_hook == [] and ha.stored(db) is None
    assert not _ha_hooks(agents, one) and not _ha_hooks(agents, two)
