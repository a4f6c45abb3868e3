"""The appliance-owned parts of Kea's configuration through the dhcp-agent, against real Kea.

Every change in tests/dhcp/owned_cases.py is refused through the raw configuration route
(422 naming the key) and Kea's configuration and its hash stay as they were; the hooks on the
allow-list can be loaded and removed, and what is the administrator's (lease file cleanup
interval, log levels) can be changed.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from services.sandbox.sandbox import Sandbox
from tests.dhcp.conftest import Agent
from tests.dhcp.owned_cases import owned_cases
from tests.harness.problems import assert_problem


def kea_config(box: Sandbox, service: str) -> dict[str, Any]:
    answer = box.kea("config-get", service)
    assert answer["result"] == 0, answer
    return dict(answer["arguments"])


@pytest.mark.parametrize("family", ["v4", "v6"])
def test_every_owned_key_is_refused_through_the_raw_configuration(
    dhcp_box: Sandbox, agent: Agent, family: str
) -> None:
    service, top = ("dhcp4", "Dhcp4") if family == "v4" else ("dhcp6", "Dhcp6")
    state = agent.ok(agent.get(f"/{family}/config"))
    before = kea_config(dhcp_box, service)
    for case in owned_cases(family):
        changed = case.applied(state["config"], top)
        answer = agent.put(f"/{family}/config", json=changed)
        problem = assert_problem(answer, 422, f"config.{top}.{case.field}")
        assert f"{top}.{case.field}" in problem["detail"], (case.what, problem)
        # with the hash the caller read, too
        again = agent.put(f"/{family}/config", params={"expected_hash": state["hash"]},
                          json=changed)  # fmt: skip
        assert_problem(again, 422, f"config.{top}.{case.field}")
        assert kea_config(dhcp_box, service) == before, case.what
        assert agent.ok(agent.get(f"/{family}/config/hash"))["hash"] == state["hash"], case.what


def test_the_refusals_say_why(dhcp_box: Sandbox, agent: Agent) -> None:
    config = agent.ok(agent.get("/v4/config"))["config"]
    by_what = {case.what: case for case in owned_cases("v4")}
    run_script = by_what["run_script loaded with a program"].applied(config, "Dhcp4")
    problem = assert_problem(agent.put("/v4/config", json=run_script), 422)
    assert "runs a program" in problem["problems"][0]["message"]
    dropped = by_what["lease_cmds dropped"].applied(config, "Dhcp4")
    problem = assert_problem(agent.put("/v4/config", json=dropped), 422)
    assert "libdhcp_lease_cmds.so is needed by the appliance" in problem["problems"][0]["message"]
    outside = by_what["a hook from outside the hooks directory"].applied(config, "Dhcp4")
    problem = assert_problem(agent.put("/v4/config", json=outside), 422)
    assert "are loaded from /usr/lib/" in problem["problems"][0]["message"]


def test_the_control_socket_property_is_refused(dhcp_box: Sandbox, agent: Agent) -> None:
    before = kea_config(dhcp_box, "dhcp4")
    moved = {"control_socket": "/tmp/elsewhere.sock"}
    assert_problem(agent.patch("/v4/properties", json=moved), 422, "control_socket")
    assert kea_config(dhcp_box, "dhcp4") == before


def test_allowed_hooks_and_the_administrators_settings_can_change(
    dhcp_box: Sandbox, agent: Agent
) -> None:
    state = agent.ok(agent.get("/v4/config"))
    original = state["config"]
    edited = json.loads(json.dumps(original))
    daemon = edited["Dhcp4"]
    folder = daemon["hooks-libraries"][0]["library"].rsplit("/", 1)[0]
    daemon["hooks-libraries"].append({"library": f"{folder}/libdhcp_bootp.so"})
    daemon["lease-database"]["lfc-interval"] = 1800
    daemon["loggers"][0]["severity"] = "WARN"
    try:
        done = agent.ok(agent.put("/v4/config", json=edited))
        assert done["changed"] is True
        now = kea_config(dhcp_box, "dhcp4")["Dhcp4"]
        assert [h["library"] for h in now["hooks-libraries"]][-1].endswith("libdhcp_bootp.so")
        assert now["lease-database"]["lfc-interval"] == 1800
        assert now["loggers"][0]["severity"] == "WARN"
    finally:
        agent.ok(agent.put("/v4/config", json=original))
    now = kea_config(dhcp_box, "dhcp4")["Dhcp4"]
    assert len(now["hooks-libraries"]) == 2  # and bootp could be removed again
