"""Changes through the agent against real Kea: conflicts, refusals, raw config, definitions."""

from __future__ import annotations

import ipaddress
import json
from typing import Any

import pytest

from services.common.files import write_atomic
from services.sandbox.sandbox import Sandbox
from tests.dhcp.conftest import Agent
from tests.harness.problems import assert_problem


def other_net(box: Sandbox) -> ipaddress.IPv4Network:
    """The half of 198.51.100.0/24 the sandbox's own /27 is not in (only configured in Kea,
    never used for traffic)."""
    low, high = ipaddress.IPv4Network("198.51.100.0/24").subnets(1)
    return high if box.network.subnet_of(low) else low


def kea_config(box: Sandbox, service: str = "dhcp4") -> dict[str, Any]:
    answer = box.kea("config-get", service)
    assert answer["result"] == 0, answer
    return dict(answer["arguments"])


def test_scope_added_behind_the_agents_back_is_refused(dhcp_box: Sandbox, agent: Agent) -> None:
    subnet = str(other_net(dhcp_box))
    first = agent.ok(agent.get("/v4/config/hash"))["hash"]
    path = dhcp_box.root.kea_conf("dhcp4")
    on_disk = json.loads(path.read_text())
    on_disk["Dhcp4"]["subnet4"].append({"id": 77, "subnet": subnet})
    # An administrator edits the file in place: it stays Kea's to read and to save (config-write).
    write_atomic(path, json.dumps(on_disk, indent=2), mode=0o660)
    assert dhcp_box.kea("config-reload")["result"] == 0
    try:
        assert agent.ok(agent.get("/v4/config/hash"))["hash"] != first  # Central sees a change
        again = agent.post("/v4/scopes", json={"subnet": subnet})
        problem = assert_problem(again, 409, "subnet")
        assert problem["detail"] == f"A scope with address {subnet} already exists on the server"
        assert subnet in [s["subnet"] for s in agent.ok(agent.get("/v4/scopes"))]
    finally:
        agent.ok(agent.delete("/v4/scopes/77"))
    saved = json.loads(path.read_text())["Dhcp4"]["subnet4"]
    assert subnet not in [s["subnet"] for s in saved]  # the delete was written (config-write)


def _cases(box: Sandbox) -> list[tuple[str, str, dict[str, Any], str]]:
    net = other_net(box)
    half = list(net.subnets(1))
    return [
        ("overlapping subnet", "/v4/scopes", {"subnet": str(half[0])}, "subnet"),
        ("pool outside", "/v4/scopes",
         {"subnet": str(box.network), "pools": [{"start": str(net[1]), "end": str(net[5])}]},
         "pools[0].start"),
        ("reservation outside", "/v4/scopes/5/reservations",
         {"hw_address": "02:d4:00:00:01:01", "ip_addresses": [box.address]}, "ip_addresses[0]"),
        ("bad option data", "/v4/scopes/5/reservations",
         {"hw_address": "02:d4:00:00:01:02", "options": [{"name": "routers", "data": "x.y"}]},
         "options[0].data"),
        ("unknown option code", "/v4/options", [{"code": 251, "data": "1"}], "options[0].code"),
        ("option name", "/v4/options", [{"name": "no-such", "data": "1"}], "options[0].name"),
        ("lifetimes", "/v4/properties", {"min_valid_lifetime": 9999999}, "min_valid_lifetime"),

        ("bad hardware address", "/v4/scopes/5/reservations",
         {"hw_address": "zz", "ip_addresses": [str(net[9])]}, "hw_address"),
        ("v6 subnet as v4", "/v4/scopes", {"subnet": "2001:db8:ffff::/64"}, "subnet"),
        ("lifetime as text", "/v4/scopes", {"subnet": str(half[1]), "valid_lifetime": "4000"},
         "valid_lifetime"),
        ("always_send as text", "/v4/options",
         [{"name": "domain-name", "data": "example.org", "always_send": "yes"}],
         "[0].always_send"),
    ]  # fmt: skip


@pytest.mark.parametrize("case", range(11))
def test_invalid_input_is_422_naming_the_field_and_kea_is_unchanged(
    dhcp_box: Sandbox, agent: Agent, case: int
) -> None:
    net = other_net(dhcp_box)
    what, path, body, field = _cases(dhcp_box)[case]
    with agent.scope("v4", {"subnet": str(net), "id": 5,
                            "pools": [{"start": str(net[10]), "end": str(net[99])}]}):  # fmt: skip
        before = kea_config(dhcp_box)
        answer = agent.patch(path, json=body) if "properties" in path else (
            agent.put(path, json=body) if path.endswith("options") else agent.post(path, json=body)
        )  # fmt: skip
        assert_problem(answer, 422, field)
        assert kea_config(dhcp_box) == before, what


def test_raw_configuration_is_validated_by_kea(dhcp_box: Sandbox, agent: Agent) -> None:
    state = agent.ok(agent.get("/v4/config"))
    assert state["config"] == kea_config(dhcp_box)
    broken = json.loads(json.dumps(state["config"]))
    outside = {"pool": "198.51.100.201 - 198.51.100.209"}
    broken["Dhcp4"]["subnet4"] = [{"id": 1, "subnet": "198.51.100.0/25", "pools": [outside]}]
    refused = agent.put("/v4/config", json=broken)
    problem = assert_problem(refused, 422, "config.Dhcp4.subnet4[0]")
    assert problem["type"] == "urn:burrow:problem:refused-by-daemon"
    assert "does not match the prefix of a subnet" in problem["problems"][0]["message"]
    assert "<wire>" not in problem["detail"]
    assert kea_config(dhcp_box) == state["config"]
    edited = json.loads(json.dumps(state["config"]))
    edited["Dhcp4"]["decline-probation-period"] = 3600
    stale = agent.put("/v4/config", params={"expected_hash": "0" * 64}, json=edited)
    assert_problem(stale, 409, "expected_hash")
    done = agent.ok(agent.put("/v4/config", params={"expected_hash": state["hash"]}, json=edited))
    assert done["after"] == agent.ok(agent.get("/v4/config/hash"))["hash"]
    assert agent.ok(agent.get("/v4/properties"))["decline_probation_period"] == 3600
    on_disk = json.loads(dhcp_box.root.kea_conf("dhcp4").read_text())
    assert on_disk["Dhcp4"]["decline-probation-period"] == 3600  # saved by config-write
    agent.ok(agent.patch("/v4/properties", json={"decline_probation_period": 86400}))


def test_custom_option_definitions(dhcp_box: Sandbox, agent: Agent) -> None:
    before = kea_config(dhcp_box)
    taken = agent.post("/v4/option-definitions", json={"code": 6, "name": "mine", "type": "uint8"})
    assert "not available" in assert_problem(taken, 422, "code")["detail"]
    invalid = agent.post(
        "/v4/option-definitions", json={"code": 300, "name": "mine", "type": "uint8"}
    )
    assert_problem(invalid, 422, "code")
    assert kea_config(dhcp_box) == before
    site = {"code": 224, "name": "burrow-site", "type": "string"}
    agent.ok(agent.post("/v4/option-definitions", json=site))
    vendor = {"code": 2, "name": "acme-id", "type": "uint16", "space": "vendor-9999"}
    agent.ok(agent.post("/v4/option-definitions", json=vendor))
    try:
        agent.ok(agent.put("/v4/options", json=[{"code": 224, "data": "north"}]))
        config = kea_config(dhcp_box)["Dhcp4"]
        assert {(d["code"], d["space"]) for d in config["option-def"]} == {
            (224, "dhcp4"),
            (2, "vendor-9999"),
        }
        assert config["option-data"][0]["data"] == "north"
    finally:
        agent.ok(agent.put("/v4/options", json=[]))
        agent.ok(agent.delete("/v4/option-definitions/dhcp4/224"))
        agent.ok(agent.delete("/v4/option-definitions/vendor-9999/2"))


def test_shared_network_with_relay_and_properties(dhcp_box: Sandbox, agent: Agent) -> None:
    net = other_net(dhcp_box)
    halves = list(net.subnets(1))
    campus = {"name": "campus", "relay_addresses": [str(halves[0][1])],
              "options": [{"name": "domain-name", "data": "campus.example"}],
              "extra": {"min-valid-lifetime": 3000, "max-valid-lifetime": 5000}}  # fmt: skip
    agent.ok(agent.put("/v4/shared-networks/campus", json=campus))
    made = []
    try:
        short = {"subnet": str(halves[0]), "shared_network": "campus", "valid_lifetime": 600}
        refused = agent.post("/v4/scopes", json=short)  # outside the bounds it inherits
        assert_problem(refused, 422, "valid_lifetime")
        for half in halves:
            body = {"subnet": str(half), "shared_network": "campus", "valid_lifetime": 600,
                    "min_valid_lifetime": 300, "max_valid_lifetime": 900,
                    "pools": [{"start": str(half[10]), "end": str(half[20])}]}  # fmt: skip
            made.append(agent.ok(agent.post("/v4/scopes", json=body))["scope"]["id"])
        networks = kea_config(dhcp_box)["Dhcp4"]["shared-networks"]
        assert [n["name"] for n in networks] == ["campus"]
        assert [s["subnet"] for s in networks[0]["subnet4"]] == [str(h) for h in halves]
        assert networks[0]["relay"]["ip-addresses"] == [str(halves[0][1])]
        busy = agent.delete("/v4/shared-networks/campus")
        assert_problem(busy, 409, "name")
        scopes = agent.ok(agent.get("/v4/scopes"))
        assert {s["shared_network"] for s in scopes if s["id"] in made} == {"campus"}
    finally:
        for scope_id in made:
            agent.ok(agent.delete(f"/v4/scopes/{scope_id}"))
        agent.ok(agent.delete("/v4/shared-networks/campus"))
    props = agent.ok(agent.get("/v4/properties"))
    assert props["control_socket"] == str(dhcp_box.root.kea_socket("dhcp4"))
    wrong = agent.patch("/v4/properties", json={"control_socket": "relative.sock"})
    assert_problem(wrong, 422, "control_socket")
    agent.ok(
        agent.patch("/v4/properties", json={"server_tag": "burrow-test", "match_client_id": False})
    )
    assert agent.ok(agent.get("/v4/properties"))["server_tag"] == "burrow-test"
    agent.ok(agent.patch("/v4/properties", json={"server_tag": "", "match_client_id": True}))
