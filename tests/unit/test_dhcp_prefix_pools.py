"""DHCPv6 prefix delegation pools: the model, their Kea form and their checks (in-memory Kea)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI

from services.common import problems
from services.common.dhcp.contract import Scope
from services.common.dhcp.kea import scope_from_kea, scope_to_kea
from services.dhcp.api import dhcp_router
from services.dhcp.changes import ConfigEditor
from services.dhcp.kea_client import KeaClient
from services.dhcp.leases import LeaseBook
from services.dhcp.manage import DhcpServer
from services.dhcp.memory import MemoryKea
from tests.harness.problems import assert_problem
from tests.unit.test_dhcp_agent import AppClient

SCOPE6: dict[str, Any] = {
    "subnet": "2001:db8:1::/64",
    "pools": [{"start": "2001:db8:1::100", "end": "2001:db8:1::1ff"}],
    "pd_pools": [{"prefix": "2001:db8:8000::/48", "delegated_len": 56}],
}


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


def test_prefix_pools_round_trip_through_kea_form() -> None:
    scope = Scope.model_validate({**SCOPE6, "id": 4})
    entry = scope_to_kea(scope)
    assert entry["pd-pools"] == [
        {"prefix": "2001:db8:8000::", "prefix-len": 48, "delegated-len": 56}
    ]
    assert scope_from_kea(entry) == scope
    v4 = scope_to_kea(Scope.model_validate({"subnet": "203.0.113.0/27", "id": 5}))
    assert "pd-pools" not in v4  # Kea's DHCPv4 server would refuse the key


def test_prefix_pools_reach_kea_through_the_agent(api: AppClient, kea: MemoryKea) -> None:
    made = api.post("/dhcp/v6/scopes", json=SCOPE6)
    assert made.status_code == 201, made.text
    entry = kea.running["dhcp6"]["Dhcp6"]["subnet6"][0]
    assert entry["pd-pools"][0] == {
        "prefix": "2001:db8:8000::",
        "prefix-len": 48,
        "delegated-len": 56,
    }
    assert api.get("/dhcp/v6/scopes/1").json()["pd_pools"][0]["prefix"] == "2001:db8:8000::/48"


@pytest.mark.parametrize(
    ("family", "body", "field"),
    [
        ("v4", {"subnet": "203.0.113.0/27",
                "pd_pools": [{"prefix": "2001:db8:8000::/48", "delegated_len": 56}]},
         "pd_pools"),
        ("v6", {**SCOPE6, "pd_pools": [{"prefix": "2001:db8:8000::/48", "delegated_len": 40}]},
         "pd_pools[0].delegated_len"),
        ("v6", {**SCOPE6, "pd_pools": [{"prefix": "2001:db8:8000::/48", "delegated_len": 129}]},
         "pd_pools[0].delegated_len"),
        ("v6", {**SCOPE6, "pd_pools": [{"prefix": "not-a-prefix", "delegated_len": 56}]},
         "pd_pools[0].prefix"),
        ("v6", {**SCOPE6, "pd_pools": [
            {"prefix": "2001:db8:8000::/48", "delegated_len": 56},
            {"prefix": "2001:db8:8000:ff00::/56", "delegated_len": 64}]},
         "pd_pools[1]"),
        ("v6", {**SCOPE6, "pd_pools": [
            {"prefix": "2001:db8:8000::/48", "delegated_len": 56, "client_class": "nope"}]},
         "pd_pools[0].client_class"),
    ],
)  # fmt: skip
def test_bad_prefix_pools_are_422_naming_the_field_and_change_nothing(
    api: AppClient, kea: MemoryKea, family: str, body: dict[str, Any], field: str
) -> None:
    before = api.get(f"/dhcp/{family}/config").json()
    answer = api.post(f"/dhcp/{family}/scopes", json=body)
    assert_problem(answer, 422, field)
    assert api.get(f"/dhcp/{family}/config").json() == before
    assert "config-set" not in kea.log


def test_a_prefix_pool_taken_by_another_scope_is_refused(api: AppClient) -> None:
    assert api.post("/dhcp/v6/scopes", json=SCOPE6).status_code == 201
    other = {"subnet": "2001:db8:2::/64",
             "pd_pools": [{"prefix": "2001:db8:8000:100::/56", "delegated_len": 64}]}  # fmt: skip
    answer = api.post("/dhcp/v6/scopes", json=other)
    assert_problem(answer, 422, "pd_pools[0]")
    assert "2001:db8:8000::/48" in answer.json()["detail"]
