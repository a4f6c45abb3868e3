"""Agents enrol with one-time tokens, speak only mutual TLS, are pinned, and can be revoked."""

from __future__ import annotations

import itertools
import ssl
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from services.common.agent import mtls_context
from services.common.paths import StateRoot
from services.common.pki import (
    CENTRAL_CLIENT_NAME,
    CertificateAuthority,
    Purpose,
    fingerprint,
    load_cert,
)
from tests.central.conftest import Api, assert_problem
from tests.harness.central import AgentProcess
from tests.harness.wait import wait_for

_n = itertools.count(1)
Agents = list[tuple[AgentProcess, dict[str, object], str]]


def _enrolled_agent(central: Api) -> tuple[AgentProcess, dict[str, object], str]:
    agent = AgentProcess(central.process)
    server = central.post(
        "/api/v1/servers",
        {"kind": "appliance", "name": f"remote-{central.backend}-{next(_n)}",
         "address": "127.0.0.1", "port": agent.port},
    ).json()  # fmt: skip
    token = central.post(f"/api/v1/servers/{server['id']}/enrolment-token", {}).json()["token"]
    agent.give_token(token)
    agent.start()
    return agent, server, token


@pytest.fixture
def agents(central: Api) -> Iterator[Agents]:
    started: Agents = []
    try:
        for _ in range(2):
            started.append(_enrolled_agent(central))
        yield started
    finally:
        for agent, _, _ in started:
            agent.stop()


def _context(root: StateRoot, cert: tuple[str, str] | None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(root.pki / "ca/ca.crt"))
    if cert is not None:
        context.load_cert_chain(*cert)
    return context


def _health(agent: AgentProcess, context: ssl.SSLContext) -> int:
    return httpx.get(f"{agent.url}/health", verify=context, timeout=5).status_code


def _refused(agent: AgentProcess, context: ssl.SSLContext) -> bool:
    try:
        _health(agent, context)
    except (httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError):
        return True
    return False


def _client_cert(
    ca_root: StateRoot, directory: Path, name: str, common_name: str | None = None
) -> tuple[str, str]:
    """A client certificate (clientAuth only) of ``ca_root``'s CA, named ``name`` unless
    ``common_name`` says otherwise (only the CA's holder can give Central's name)."""
    paths = CertificateAuthority(ca_root.pki / "ca").issue(
        directory, name, purpose=Purpose.CLIENT, common_name=common_name
    )
    return str(paths.cert), str(paths.key)


def test_an_agent_enrols_once_and_is_pinned(central: Api, agents: Agents) -> None:
    agent, server, token = agents[0]
    cert = load_cert(Path(agent.cert[0]))
    record = central.get(f"/api/v1/servers/{server['id']}").json()
    assert record["fingerprint"] == fingerprint(cert)
    assert record["state"] == "enrolled" and record["enrolled_at"]
    assert not (agent.root.secrets / "enrol-appliance-agent.token").exists()
    checked = central.get(f"/api/v1/servers/{server['id']}?check=true").json()
    assert checked["state"] == "reachable", checked
    assert checked["version"] == "0.1.0" and checked["last_seen"]
    enrol = central.get(f"/api/v1/history/server/{server['id']}").json()["items"][0]
    assert enrol["action"] == "enrol" and enrol["after"]["fingerprint"] == fingerprint(cert)
    # The token was for one use only.
    again = central.call("POST", "/api/v1/enrol", json={"token": token, "csr": "x"})
    assert_problem(again, 403, "token")


def test_enrolment_refuses_bad_tokens_and_requests(central: Api) -> None:
    assert_problem(
        central.call("POST", "/api/v1/enrol", json={"token": "bwe_made-up", "csr": "x"}),
        403, "token",
    )  # fmt: skip
    server = central.post(
        "/api/v1/servers", {"kind": "dhcp", "name": f"csr-{central.backend}",
                            "address": "198.51.100.9"},
    ).json()  # fmt: skip
    token = central.post(f"/api/v1/servers/{server['id']}/enrolment-token", {}).json()["token"]
    history = central.history_total()
    bad = central.call("POST", "/api/v1/enrol", json={"token": token, "csr": "not a request"})
    assert_problem(bad, 422, "csr")
    assert central.history_total() == history
    assert central.get(f"/api/v1/servers/{server['id']}").json()["fingerprint"] == ""


def test_an_agent_refuses_callers_without_a_valid_client_certificate(
    central: Api,
    agents: list,
    tmp_path: Path,  # type: ignore[type-arg]
) -> None:
    agent = agents[0][0]
    root = central.process.root
    assert _health(agent, mtls_context(root)) == 200
    assert _refused(agent, _context(root, None)), "no client certificate was accepted"
    # A certificate of another CA.
    other = StateRoot.at(tmp_path)
    CertificateAuthority(other.pki / "ca").create("Somebody else's CA")
    foreign = _client_cert(other, tmp_path, "intruder", CENTRAL_CLIENT_NAME)
    assert _refused(agent, _context(root, foreign)), "a foreign certificate was accepted"
    # Of the appliance CA but not Central's client certificate: another agent's (a server
    # certificate), Central's listener certificate, a client certificate with another name.
    assert _refused(agent, _context(root, agents[1][0].cert)), "another agent was accepted"
    central_listener = (str(root.pki / "central.crt"), str(root.pki / "central.key"))
    assert _refused(agent, _context(root, central_listener)), "central.crt was accepted"
    operator = _client_cert(root, tmp_path, "operator")
    assert _refused(agent, _context(root, operator)), "another client name was accepted"


def test_revoked_certificates_are_refused(
    central: Api,
    agents: list,
    tmp_path: Path,  # type: ignore[type-arg]
) -> None:
    (a, server_a, _), (b, server_b, _) = agents
    root = central.process.root
    assert _refused(b, _context(root, a.cert)), "an agent's certificate drives another agent"
    # A second certificate in Central's name (as the CA's holder could make one) works at B.
    operator = _client_cert(root, tmp_path, "operator", CENTRAL_CLIENT_NAME)
    assert _health(b, _context(root, operator)) == 200

    revoked = central.post(
        f"/api/v1/servers/{server_a['id']}/revoke", {"reason": "stolen", "comment": "incident 7"}
    )
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["state"] == "revoked"
    # Central refuses to call the revoked agent at all.
    checked = central.get(f"/api/v1/servers/{server_a['id']}?check=true").json()
    assert checked["state"] == "revoked"
    assert central.get(f"/api/v1/servers/{server_b['id']}?check=true").json()["state"] == (
        "reachable"
    )
    # Any certificate can be revoked by serial number.
    serial = f"{load_cert(Path(operator[0])).serial_number:X}"
    response = central.post("/api/v1/certificates/revoked", {"serial": serial, "reason": "left"})
    assert response.status_code == 201, response.text
    wait_for(lambda: _refused(b, _context(root, operator)), timeout=20, what="B refusing it")
    listed = central.get(f"/api/v1/certificates/revoked?filter=serial:{serial}").json()
    assert listed["total"] == 1
    assert_problem(central.post("/api/v1/certificates/revoked", {"serial": serial}), 409, "serial")
    # Central's own certificate still works.
    assert _health(b, mtls_context(root)) == 200


def test_central_refuses_an_agent_showing_another_certificate(
    central: Api,
    agents: list,  # type: ignore[type-arg]
) -> None:
    agent, server, _ = agents[0]
    agent.stop(remove=False)
    # Same CA, same name and address, but not the certificate Central pinned.
    for path in agent.cert:
        Path(path).unlink()
    CertificateAuthority(central.process.root.pki / "ca").issue(
        agent.root.pki, "appliance-agent", server_names=["127.0.0.1"]
    )
    agent.start()
    checked = central.get(f"/api/v1/servers/{server['id']}?check=true").json()
    assert checked["state"] == "untrusted", checked
    assert "pinned" in checked["last_error"]
