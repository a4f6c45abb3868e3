"""The change pipeline's shortcuts: config-get bytes reused, ``known_hash``, lean configurations."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI

from services.common import problems
from services.common.dhcp.kea import lean_config
from services.dhcp.api import dhcp_router
from services.dhcp.changes import ConfigEditor
from services.dhcp.kea_client import KeaClient
from services.dhcp.leases import LeaseBook
from services.dhcp.manage import DhcpServer
from services.dhcp.memory import MemoryKea
from tests.harness.problems import assert_problem
from tests.unit.test_dhcp_agent import SCOPE, AppClient


@pytest.fixture
def kea() -> MemoryKea:
    return MemoryKea()


@pytest.fixture
def api(kea: MemoryKea) -> AppClient:
    client = KeaClient(kea)
    app = FastAPI()
    problems.install(app, service="dhcp-agent")
    app.include_router(dhcp_router(DhcpServer(ConfigEditor(client)), LeaseBook(client)))
    return AppClient(app)


def test_an_unchanged_configuration_is_read_once_and_a_changed_one_again(kea: MemoryKea) -> None:
    editor = ConfigEditor(KeaClient(kea))
    first = editor.snapshot("v4")
    assert editor.snapshot("v4") is first  # same bytes from config-get: not parsed again
    assert kea.log == ["config-get", "config-get"]  # but Kea is asked every time
    kea.running["dhcp4"]["Dhcp4"]["subnet4"].append({"id": 7, "subnet": "203.0.113.0/27"})
    second = editor.snapshot("v4")
    assert second.hash != first.hash
    assert second.config["Dhcp4"]["subnet4"][0]["id"] == 7
    editor.read("v4")["subnet4"].clear()  # read() hands out a copy
    assert editor.snapshot("v4").config["Dhcp4"]["subnet4"]


def test_a_change_with_a_stale_known_hash_is_refused_and_changes_nothing(
    api: AppClient, kea: MemoryKea
) -> None:
    seen = api.get("/dhcp/v4/config/hash").json()["hash"]
    kea.running["dhcp4"]["Dhcp4"]["option-data"] = [{"name": "domain-name", "data": "x.test"}]
    stale = api.post("/dhcp/v4/scopes", params={"known_hash": seen}, json=SCOPE)
    assert_problem(stale, 409, "known_hash")
    assert "config-test" not in kea.log
    now = api.get("/dhcp/v4/config/hash").json()["hash"]
    done = api.post("/dhcp/v4/scopes", params={"known_hash": now}, json=SCOPE)
    assert done.status_code == 201, done.text
    assert done.json()["change"]["before"] == now
    assert api.post("/dhcp/v4/scopes", json={**SCOPE, "subnet": "203.0.113.64/27",
                                             "pools": []}).status_code == 201  # fmt: skip


def test_raw_config_read_answers_kea_configuration_and_hash(api: AppClient, kea: MemoryKea) -> None:
    state = api.get("/dhcp/v4/config").json()
    assert set(state) == {"family", "hash", "config"}
    assert state["hash"] == api.get("/dhcp/v4/config/hash").json()["hash"]
    assert state["config"]["Dhcp4"]["subnet4"] == []
    after = api.post("/dhcp/v4/scopes", json=SCOPE).json()["change"]["after"]
    asked = len(kea.log)
    same = api.get("/dhcp/v4/config", params={"hash": after}).json()
    assert same["hash"] == after and len(same["config"]["Dhcp4"]["subnet4"]) == 1
    assert len(kea.log) == asked  # the configuration of that hash, without asking Kea again
    assert api.get("/dhcp/v4/config", params={"hash": "0" * 64}).json()["hash"] == after
    assert kea.log[asked:] == ["config-get"]  # any other hash: Kea is asked


def test_lean_config_drops_only_empty_subnet_defaults() -> None:
    subnet: dict[str, Any] = {
        "id": 1, "subnet": "203.0.113.0/27", "4o6-interface": "", "4o6-subnet": "",
        "option-data": [], "reservations": [], "relay": {"ip-addresses": []},
        "valid-lifetime": 4000, "renew-timer": 1000,
        "pools": [{"pool": "203.0.113.10-203.0.113.20", "option-data": []}],
    }  # fmt: skip
    kept: dict[str, Any] = {
        "id": 2, "subnet": "203.0.113.32/27", "4o6-interface": "eth1",
        "option-data": [{"name": "routers", "data": "203.0.113.33"}],
        "relay": {"ip-addresses": ["203.0.113.34"]},
        "pools": [{"pool": "203.0.113.40-203.0.113.50",
                   "option-data": [{"name": "domain-name", "data": "p.test"}]}],
    }  # fmt: skip
    network = {"name": "n", "subnet4": [dict(subnet, id=3, subnet="203.0.113.64/27")]}
    config = {"Dhcp4": {"subnet4": [subnet, dict(kept)], "shared-networks": [network],
                        "option-data": []}}  # fmt: skip
    lean = lean_config(config, "v4")["Dhcp4"]
    expected = {"id": 1, "subnet": "203.0.113.0/27", "valid-lifetime": 4000,
                "renew-timer": 1000, "pools": [{"pool": "203.0.113.10-203.0.113.20"}]}  # fmt: skip
    assert lean["subnet4"] == [expected, kept]
    assert lean["shared-networks"][0]["subnet4"][0] == {**expected, "id": 3,
                                                        "subnet": "203.0.113.64/27"}  # fmt: skip
    assert lean["option-data"] == []  # only subnets and pools are thinned
