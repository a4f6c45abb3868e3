"""The dhcp-agent's contract against a real appliance: every kind of error in the one schema.

Each test provokes one kind of error of the agent (validation, not found, conflict, refused by
Kea, too large, Kea not running, no or a foreign client certificate) and checks the answer
with ``tests.harness.problems``: RFC 9457 problem JSON whose problems name the field in the
request's terms, never Kea's raw words (``<wire>:0:84``, ``intValue()``, ``Errno 111``).
"""

from __future__ import annotations

import http.client
import ipaddress
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from services.common.pki import CertificateAuthority
from services.common.problems import AGENT_MAX_BODY
from services.sandbox.sandbox import Sandbox
from tests.dhcp.conftest import Agent
from tests.harness.problems import assert_problem, check_problem
from tests.harness.wait import wait_for

pytestmark = pytest.mark.sandbox

RAW_WORDS = ("<wire>", "<string>", "Errno", "Value()", "lax-or-strict", "Input should")


def other_net(box: Sandbox) -> ipaddress.IPv4Network:
    """The half of 198.51.100.0/24 the sandbox's own /27 is not in (only configured)."""
    low, high = ipaddress.IPv4Network("198.51.100.0/24").subnets(1)
    return high if box.network.subnet_of(low) else low


def plain(problem: dict[str, Any]) -> None:
    """No problem of the answer speaks a validator's or a daemon's internals."""
    text = orjson.dumps(problem).decode()
    for word in RAW_WORDS:
        assert word not in text, (word, problem)


@pytest.fixture
def scope(dhcp_box: Sandbox, agent: Agent) -> Iterator[dict[str, Any]]:
    net = other_net(dhcp_box)
    body = {"subnet": str(net), "pools": [{"start": str(net[10]), "end": str(net[20])}]}
    with agent.scope("v4", body) as made:
        yield made


# --- validation (422) -----------------------------------------------------------------------
def test_validation_names_every_field_in_the_requests_terms(
    dhcp_box: Sandbox, agent: Agent
) -> None:
    net = other_net(dhcp_box)
    body = {
        "subnet": str(net),
        "valid_lifetime": "4000",
        "pools": [{"start": str(net[10]), "end": "not-an-address"}],
        "options": [{"name": "routers", "data": str(net[1]), "always_send": "yes"}],
        "reservations": [{"hw_address": "zz"}],
        "colour": "red",
    }
    answer = agent.post("/v4/scopes", json=body)
    problem = assert_problem(answer, 422)
    assert problem["type"] == "urn:burrow:problem:validation-error"
    fields = [p["field"] for p in problem["problems"]]
    assert fields == [
        "pools[0].end",
        "valid_lifetime",
        "options[0].always_send",
        "reservations[0].hw_address",
        "colour",
    ]
    messages = {p["field"]: p["message"] for p in problem["problems"]}
    assert messages["valid_lifetime"] == "must be a whole number"
    assert messages["options[0].always_send"] == "must be true or false"
    assert messages["colour"] == "is not a known field"
    assert "not-an-address" in messages["pools[0].end"]
    plain(problem)


def test_checks_against_the_configuration_name_the_field(
    dhcp_box: Sandbox, agent: Agent, scope: dict[str, Any]
) -> None:
    net = other_net(dhcp_box)
    outside = [{"start": str(dhcp_box.network[2]), "end": str(dhcp_box.network[4])}]
    answer = agent.put(f"/v4/scopes/{scope['id']}", json={**scope, "pools": outside})
    problem = assert_problem(answer, 422, "pools[0].start")
    assert [p["field"] for p in problem["problems"]] == ["pools[0].start", "pools[0].end"]
    assert problem["problems"][0]["message"] == f"{dhcp_box.network[2]} is outside {net}"


# --- not found (404) -------------------------------------------------------------------------
def test_not_found(agent: Agent) -> None:
    assert_problem(agent.get("/v4/scopes/4000000"), 404, "scope_id")
    assert_problem(agent.delete("/v4/classes/no-such-class"), 404, "name")
    assert_problem(agent.get("/v4/no-such-thing"), 404)


# --- conflict (409) -------------------------------------------------------------------------
def test_conflicts(agent: Agent, scope: dict[str, Any]) -> None:
    stale = agent.post("/v4/scopes", params={"known_hash": "0" * 64}, json={"subnet": "::/0"})
    # (the hash is compared first: the body is not looked at)
    problem = assert_problem(stale, 409, "known_hash")
    assert problem["hint"]
    again = agent.post("/v4/scopes", json={"subnet": scope["subnet"]})
    problem = assert_problem(again, 409, "subnet")
    assert (
        problem["detail"] == f"A scope with address {scope['subnet']} already exists on the server"
    )


# --- refused by the daemon (422, refused-by-daemon) -------------------------------------------
def _kea(box: Sandbox) -> dict[str, Any]:
    answer = box.kea("config-get")
    assert answer["result"] == 0
    return dict(answer["arguments"])


def test_kea_refusing_what_burrows_checks_let_through_names_the_field(
    dhcp_box: Sandbox, agent: Agent, scope: dict[str, Any]
) -> None:
    before = _kea(dhcp_box)
    # Burrow does not parse client class expressions; Kea does.
    answer = agent.put("/v4/classes/lab", json={"name": "lab", "test": "bad("})
    problem = assert_problem(answer, 422, "test")
    assert problem["type"] == "urn:burrow:problem:refused-by-daemon"
    assert problem["problems"][0]["message"].startswith("the DHCP server (Kea) refused it: ")
    kea_path = problem["problems"][0]["kea_path"]
    assert kea_path.startswith("Dhcp4.client-classes[") and kea_path.endswith("].test")
    plain(problem)
    # An option that Kea defines and Burrow does not type (8, cookie-servers), with data Kea
    # cannot convert, inside a pool of a scope.
    pools = [{**scope["pools"][0], "options": [{"code": 8, "data": "zz"}]}]
    answer = agent.put(f"/v4/scopes/{scope['id']}", json={**scope, "pools": pools})
    problem = assert_problem(answer, 422, "pools[0].options[0].data")
    assert problem["type"] == "urn:burrow:problem:refused-by-daemon"
    plain(problem)
    assert _kea(dhcp_box) == before


def test_a_raw_configuration_refused_by_kea_names_the_key(dhcp_box: Sandbox, agent: Agent) -> None:
    state = agent.ok(agent.get("/v4/config"))
    config = orjson.loads(orjson.dumps(state["config"]))
    config["Dhcp4"]["valid-lifetime"] = "x"
    problem = assert_problem(agent.put("/v4/config", json=config), 422,
                             "config.Dhcp4.valid-lifetime")  # fmt: skip
    assert problem["problems"][0]["message"] == (
        "the DHCP server (Kea) refused it: must be a whole number"
    )
    plain(problem)
    assert _kea(dhcp_box) == state["config"]


# --- too large (413) -------------------------------------------------------------------------
def test_a_body_over_the_limit_is_refused_before_it_is_read(dhcp_box: Sandbox) -> None:
    conn = http.client.HTTPSConnection(dhcp_box.address, 4151, context=dhcp_box.tls_context(),
                                       timeout=30)  # fmt: skip
    try:
        conn.putrequest("PUT", "/dhcp/v4/config")
        conn.putheader("Content-Type", "application/json")
        conn.putheader("Content-Length", str(AGENT_MAX_BODY + 1))
        conn.endheaders()  # not a byte of the body is sent
        response = conn.getresponse()
        body = orjson.loads(response.read())
    finally:
        conn.close()
    problem = check_problem(response.status, response.getheader("content-type") or "", body, 413)
    assert str(AGENT_MAX_BODY) in problem["detail"]


# --- the daemon not running (502) ------------------------------------------------------------
def test_kea_not_running_is_said_in_plain_words(dhcp_box: Sandbox, agent: Agent) -> None:
    supervisor = dhcp_box.supervisor()
    supervisor.call("supervisor.stopProcess", "kea-dhcp4")
    try:
        problem = assert_problem(agent.get("/v4/scopes"), 502)
        assert problem["detail"].startswith("The DHCPv4 server (Kea) cannot be reached: ")
        assert "kea-dhcp4" in problem["hint"]
        plain(problem)
    finally:
        supervisor.call("supervisor.startProcess", "kea-dhcp4")
        wait_for(lambda: agent.get("/v4/config/hash").status_code == 200, timeout=30,
                 what="kea-dhcp4 answering again")  # fmt: skip


# --- unauthenticated and forbidden: refused in the TLS handshake --------------------------------
def _refused(box: Sandbox, context: ssl.SSLContext) -> bool:
    try:
        httpx.get(f"https://{box.address}:4151/dhcp/v4/scopes", verify=context, timeout=10)
    except (httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError):
        return True
    return False


def test_a_caller_without_a_client_certificate_is_refused(dhcp_box: Sandbox) -> None:
    context = ssl.create_default_context(cafile=str(dhcp_box.ca_file))
    assert _refused(dhcp_box, context)


def test_a_certificate_of_another_ca_is_refused(dhcp_box: Sandbox, tmp_path: Path) -> None:
    other = CertificateAuthority(tmp_path / "ca")
    other.create("Somebody else's CA")
    paths = other.issue(tmp_path, "intruder", server_names=["intruder.test"])
    context = ssl.create_default_context(cafile=str(dhcp_box.ca_file))
    context.load_cert_chain(str(paths.cert), str(paths.key))
    assert _refused(dhcp_box, context)
    assert not _refused(dhcp_box, dhcp_box.tls_context())  # Central's certificate is taken


def test_a_deleted_scopes_id_is_never_given_again(dhcp_box: Sandbox, agent: Agent) -> None:
    """Delete the scope with the highest id and make another: it gets a new id (the highest
    given is kept in Kea's own configuration, so a restart of the agent keeps it too)."""
    net = other_net(dhcp_box)
    body = {"subnet": str(net), "pools": [{"start": str(net[10]), "end": str(net[20])}]}
    first = agent.ok(agent.post("/v4/scopes", json=body))["scope"]
    agent.ok(agent.delete(f"/v4/scopes/{first['id']}"))
    again = agent.ok(agent.post("/v4/scopes", json=body))["scope"]
    try:
        assert again["id"] > first["id"], f"scope id {first['id']} was given again"
    finally:
        agent.ok(agent.delete(f"/v4/scopes/{again['id']}"))
