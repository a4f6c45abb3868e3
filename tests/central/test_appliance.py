"""Central inside a whole appliance: its agents enrolled themselves at first start."""

from __future__ import annotations

import os
import signal
import ssl
import stat

import httpx
import pytest

from services.common.pki import fingerprint, load_cert
from services.sandbox.sandbox import AGENT_PORTS, Sandbox
from tests.harness.problems import assert_problem
from tests.harness.wait import wait_for

pytestmark = pytest.mark.sandbox


def test_the_appliance_agents_enrolled_and_are_pinned(shared_sandbox: Sandbox) -> None:
    box = shared_sandbox
    token = box.central_token()
    servers = box.https(1231, "/api/v1/servers?filter=local:true&sort=kind", token=token).json()
    assert [s["kind"] for s in servers["items"]] == ["appliance", "dhcp", "dns"]
    for server in servers["items"]:
        program = f"{server['kind']}-agent"
        assert server["address"] == box.address
        assert server["port"] == AGENT_PORTS[program]
        cert = load_cert(box.root.pki / f"{program}.crt")
        assert server["fingerprint"] == fingerprint(cert)
        assert not (box.root.secrets / f"enrol-{program}.token").exists()
        checked = box.https(
            1231, f"/api/v1/servers/{server['id']}?check=true", token=token, timeout=10
        ).json()
        assert checked["state"] == "reachable", checked


def test_the_appliance_agents_refuse_callers_without_a_client_certificate(
    shared_sandbox: Sandbox,
) -> None:
    box = shared_sandbox
    plain = ssl.create_default_context(cafile=str(box.ca_file))
    for port in AGENT_PORTS.values():
        with pytest.raises((httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError)):
            httpx.get(f"https://{box.address}:{port}/health", verify=plain, timeout=5)
        assert box.https(port, "/health").status_code == 200  # with Central's certificate


def test_the_first_password_is_generated_and_service_events_need_a_login(
    shared_sandbox: Sandbox,
) -> None:
    box = shared_sandbox
    secret = box.root.secrets / "initial-admin-password"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert box.https(1231, "/api/v1/service-events").status_code == 401
    token = box.central_token()
    response = box.https(1231, "/api/v1/service-events", token=token)
    assert response.status_code == 200
    assert "items" in response.json()


def test_a_revoked_appliance_agent_enrols_again_at_its_next_start(
    shared_sandbox: Sandbox,
) -> None:
    box = shared_sandbox
    token = box.central_token()
    dns = box.https(1231, "/api/v1/servers?filter=local:true kind:dns", token=token).json()
    server = dns["items"][0]
    old = server["fingerprint"]
    response = box.https(
        1231, f"/api/v1/servers/{server['id']}/revoke", method="POST", token=token,
        json_body={"reason": "test", "comment": "re-enrolment"},
    )  # fmt: skip
    assert response.status_code == 200, response.text
    assert response.json()["state"] == "revoked"
    view = box.supervisor()
    pid = view.pid("dns-dhcp-agent")  # the dns-agent's process (shared with the dhcp-agent)
    os.kill(pid, signal.SIGKILL)

    def enrolled_again() -> dict[str, object] | None:
        record = box.https(
            1231, f"/api/v1/servers/{server['id']}?check=true", token=token, timeout=10
        ).json()
        if record["state"] == "reachable" and record["fingerprint"] != old:
            return dict(record)
        return None

    record = wait_for(enrolled_again, timeout=60, what="the dns-agent enrolled again")
    assert record["fingerprint"] == fingerprint(load_cert(box.root.pki / "dns-agent.crt"))
    assert (box.root.pki / "dns-agent.crt.revoked").exists()
    assert box.https(1337, "/health").status_code == 200


#: Routes of this branch's domains: every operation describes its answer in the OpenAPI document.
TYPED = ("/api/v1/appliance", "/api/v1/servers", "/api/v1/enrol", "/api/v1/certificates")


def test_the_openapi_document_describes_every_answer_of_these_routes(
    shared_sandbox: Sandbox,
) -> None:
    document = shared_sandbox.https(1231, "/api/v1/openapi.json", timeout=10).json()
    seen = 0
    for path, operations in document["paths"].items():
        if not path.startswith(TYPED):
            continue
        for method, operation in operations.items():
            seen += 1
            answers = {k: v for k, v in operation["responses"].items() if k.startswith("2")}
            assert answers, (method, path)
            for status, answer in answers.items():
                if status == "204":
                    continue
                content = answer.get("content", {})
                schema = content.get("application/json", {}).get("schema")
                assert schema or "application/octet-stream" in content, (method, path, status)
    assert seen >= 20


def test_an_appliance_agent_that_is_down_is_503_with_retry_after(
    shared_sandbox: Sandbox,
) -> None:
    box = shared_sandbox
    token = box.central_token()
    supervisor = box.supervisor()
    try:
        # Not waited for inside the call (an agent may take longer than one XML-RPC call's
        # timeout to end under load); the stop is awaited below, and undone in any case.
        supervisor.call("supervisor.stopProcess", "appliance-agent", False)
        wait_for(lambda: supervisor.process("appliance-agent")["statename"] == "STOPPED",
                 timeout=60)  # fmt: skip
        answer = box.https(1231, "/api/v1/appliance/network", token=token, timeout=10)
        problem = assert_problem(answer, 503)
        assert "appliance-agent" in problem["detail"] and int(answer.headers["Retry-After"]) > 0
        servers = box.https(1231, "/api/v1/servers?filter=local:true", token=token).json()
        server = next(s for s in servers["items"] if s["kind"] == "appliance")
        diag = box.https(1231, f"/api/v1/servers/{server['id']}/diag-shell", token=token)
        assert_problem(diag, 503)
        checked = box.https(1231, f"/api/v1/servers/{server['id']}?check=true", token=token)
        assert checked.json()["state"] == "unreachable", checked.text
    finally:
        wait_for(lambda: supervisor.process("appliance-agent")["statename"] != "STOPPING",
                 timeout=60)  # fmt: skip
        supervisor.call("supervisor.startProcess", "appliance-agent", False)
        wait_for(lambda: box.https(4603, "/health").status_code == 200, timeout=60)
