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
