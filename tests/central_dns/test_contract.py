"""Central's DNS side of the one contract: nothing coerced, every problem the dns-agent found
passed on unchanged and in order with the agent's status, an unreachable agent 503 with
Retry-After."""

from __future__ import annotations

from typing import Any

import pytest

from services.common.supervisor import SupervisorView
from services.sandbox.sandbox import Sandbox
from tests.central_dns.conftest import CentralDns, create
from tests.dns.conftest import Agent
from tests.dns.test_import_lines import EXPECTED, ZONE_FILE
from tests.harness.problems import assert_problem
from tests.harness.wait import wait_for

pytestmark = pytest.mark.sandbox


def _fields(problem: dict[str, Any]) -> list[str]:
    return [p["field"] for p in problem["problems"]]


@pytest.mark.parametrize("ttl", ["60", 60.5, True])
def test_a_ttl_that_is_not_a_number_is_refused(central_dns: CentralDns, ttl: Any) -> None:
    api = central_dns
    name = api.new_zone_name()
    zone = api.create_zone(name)
    response = api.change(zone["id"], [create("strict", "A", "198.51.100.61", ttl=ttl)])
    problem = assert_problem(response, 422)
    assert _fields(problem) == ["changes[0].record.ttl"]
    assert api.served(f"strict.{name}", "A") == set()
    body = {"server_id": api.server_id, "name": api.new_zone_name(), "ttl": "60"}
    assert _fields(assert_problem(api.call("POST", "/api/v1/dns/zones", body), 422)) == ["ttl"]
    body = {"server_id": str(api.server_id), "name": api.new_zone_name()}
    assert _fields(assert_problem(api.call("POST", "/api/v1/dns/zones", body), 422)) == [
        "server_id"
    ]
    ttl_change = {"pattern": f"*.{name}", "ttl": "120"}
    response = api.call("POST", "/api/v1/dns/records/ttl", ttl_change)
    assert _fields(assert_problem(response, 422)) == ["ttl"]


@pytest.mark.parametrize("recursion", ["yes", "true", 1])
def test_recursion_that_is_not_a_boolean_is_refused(
    central_dns: CentralDns, recursion: Any
) -> None:
    api = central_dns
    path = f"/api/v1/dns/servers/{api.server_id}/options"
    before = api.ok(api.call("GET", path))
    response = api.call("PUT", path, {"options": {"recursion": recursion}})
    assert _fields(assert_problem(response, 422)) == ["options.recursion"]
    assert api.ok(api.call("GET", path))["options"] == before["options"]


def test_an_import_with_many_bad_lines_answers_all_of_them(central_dns: CentralDns) -> None:
    api = central_dns
    name = "many.test."
    body = {"server_id": api.server_id, "name": name, "text": ZONE_FILE, "comment": "bad"}
    problem = assert_problem(api.call("POST", "/api/v1/dns/zones/import", body), 422)
    assert [(p["field"], p["line"]) for p in problem["problems"]] == [
        (f"line {line}", line) for line, _ in EXPECTED
    ]
    listed = api.ok(api.call("GET", f"/api/v1/dns/zones?filter=name:{name}"))
    assert listed["total"] == 0


def test_the_agents_problems_pass_through_unchanged_and_in_order(
    central_dns: CentralDns,
) -> None:
    api = central_dns
    name = api.new_zone_name()
    zone = api.create_zone(name)
    # named refuses the MX (its mail server has no address): the agent names the record,
    # Central passes it on as the agent said it.
    changes = [create("txt", "TXT", '"x"'), create("@", "MX", "10 nomail")]
    agent = Agent(api.box)
    try:
        direct = assert_problem(agent.change(name, changes), 422)
        through = assert_problem(api.change(zone["id"], changes), 422)
        assert through["problems"] == direct["problems"]
        assert _fields(through) == ["changes[1].record.data"]
        assert through["detail"] == direct["detail"]
        # The agent's 404 stays a 404: the zone is gone from the agent behind Central's back.
        assert agent.http.delete(f"/zones/{name}").status_code == 204
        missing = assert_problem(api.change(zone["id"], [create("x", "A", "198.51.100.62")]), 404)
        assert _fields(missing) == ["zone"] and name in missing["detail"]
    finally:
        agent.close()
    entries = api.history(zone["id"])
    assert [e["action"] for e in entries] == ["create"]


def test_an_unreachable_agent_is_503_with_retry_after(central_dns: CentralDns) -> None:
    api = central_dns
    name = api.new_zone_name()
    zone = api.create_zone(name)
    box = api.box
    # Stopping waits for the agent's open connections (up to its graceful shutdown time).
    supervisor = SupervisorView(box.root.supervisor_socket, timeout=60)
    try:
        supervisor.call("supervisor.stopProcess", "dns-dhcp-agent")
        response = api.change(zone["id"], [create("away", "A", "198.51.100.63")])
        problem = assert_problem(response, 503)
        assert int(response.headers["Retry-After"]) > 0
        assert "nothing was changed" in problem["detail"]
    finally:
        supervisor.call("supervisor.startProcess", "dns-dhcp-agent", False)  # do not wait

    def back() -> bool:
        state = supervisor.process("dns-dhcp-agent")["statename"]
        assert state in ("STARTING", "RUNNING", "BACKOFF"), _agent_log(box)
        return api.change(zone["id"], [create("back", "A", "198.51.100.64")]).status_code == 200

    wait_for(back, timeout=90, interval=1, what="the dns-agent back")
    assert api.served(f"away.{name}", "A") == set()
    assert api.served(f"back.{name}", "A") == {"198.51.100.64"}


def _agent_log(box: Sandbox) -> str:
    path = box.root.logs / "dns-dhcp-agent.log"
    return path.read_text(errors="replace")[-3000:] if path.exists() else "no log"
