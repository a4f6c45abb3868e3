"""The SNMP agent in a real sandbox, read with net-snmp's snmpwalk by name (issue 19).

Nothing answers until Central's API sets a community or a user; then ``snmpwalk -v2c`` and
``-v3 -l authPriv`` read the system group and BURROW-MIB, while a wrong community, a community
from outside its networks and an unknown user get nothing. ``/metrics`` shows the same figures.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from services.sandbox.sandbox import Sandbox
from tests.harness.problems import assert_problem
from tests.harness.wait import wait_for
from tests.monitor.snmp import AUTH_PASS, COMMUNITY, ELSEWHERE, PRIV_PASS, USER, v2c, v3

SCRAPE_TOKEN = "scrape-token-0123456789"


def _settings(box: Sandbox) -> dict[str, Any]:
    return {
        "location": "test rack",
        "contact": "noc@example.net",
        "communities": [
            {"name": "noc", "community": COMMUNITY, "networks": [f"{box.host_address}/32"]},
            {"name": "far", "community": ELSEWHERE, "networks": ["10.0.0.0/8"]},
        ],
        "users": [
            {
                "name": USER,
                "auth_protocol": "sha256",
                "auth_passphrase": AUTH_PASS,
                "priv_protocol": "aes128",
                "priv_passphrase": PRIV_PASS,
            }
        ],
        "metrics_token": SCRAPE_TOKEN,
        "comment": "monitoring for the test",
    }


@pytest.fixture(scope="module")
def box(shared_sandbox: Sandbox) -> Iterator[Sandbox]:
    yield shared_sandbox
    token = shared_sandbox.central_token()
    shared_sandbox.https(1231, "/api/v1/monitoring", method="PUT", token=token,
                         json_body={"comment": "put back"}, timeout=10)  # fmt: skip


def test_snmp_v2c_v3_and_metrics(box: Sandbox) -> None:
    address = box.address
    # Not configured: no community works, not even a guess.
    nothing = v2c("snmpget", address, "public", "sysName.0")
    assert nothing.returncode != 0 and "Timeout" in nothing.stderr, nothing

    token = box.central_token()
    # Bad input names the field and changes nothing.
    bad = _settings(box)
    bad["communities"][0]["networks"] = ["198.51.100.300/32"]
    put = box.https(1231, "/api/v1/monitoring", method="PUT", token=token, json_body=bad,
                    timeout=10)  # fmt: skip
    assert_problem(put, 422, "communities[0].networks[0]")
    missing = _settings(box)
    del missing["users"][0]["priv_passphrase"]
    put = box.https(1231, "/api/v1/monitoring", method="PUT", token=token, json_body=missing,
                    timeout=10)  # fmt: skip
    assert_problem(put, 422, "users[0].priv_passphrase")
    assert box.https(1231, "/api/v1/monitoring", token=token).json()["communities"] == []

    answer = box.https(1231, "/api/v1/monitoring", method="PUT", token=token,
                       json_body=_settings(box), timeout=10)  # fmt: skip
    assert answer.status_code == 200, answer.text
    shown = answer.json()
    assert shown["communities"][0]["community"] == "********"
    assert shown["users"][0]["priv_passphrase"] == "********"
    assert shown["metrics_token"] == "********"
    history = box.https(1231, "/api/v1/history/monitoring/settings", token=token).text
    for secret in (COMMUNITY, AUTH_PASS, PRIV_PASS, SCRAPE_TOKEN):
        assert secret not in history
    assert "monitoring for the test" in history

    # v2c from the allowed network reads the system group and BURROW-MIB by name.
    def walk_system() -> str:
        result = v2c("snmpwalk", address, COMMUNITY, "system")
        return result.stdout if result.returncode == 0 else ""

    system = wait_for(walk_system, timeout=30, what="snmpwalk -v2c system")
    assert f"SNMPv2-MIB::sysName.0 = STRING: {box.settings().hostname}" in system
    assert "SNMPv2-MIB::sysLocation.0 = STRING: test rack" in system
    assert "SNMPv2-MIB::sysObjectID.0 = OID: BURROW-MIB::burrowMIB" in system
    walk = v2c("snmpwalk", address, COMMUNITY, "burrowMIB")
    assert walk.returncode == 0, walk.stderr
    names = [line for line in walk.stdout.splitlines() if "burrowProgramName" in line]
    assert any('"named"' in n or "STRING: named" in n for n in names), walk.stdout
    assert any("STRING: monitor" in n for n in names), walk.stdout
    assert "running(20)" in walk.stdout
    assert "burrowPoolSubnet.ipv4." in walk.stdout
    assert "burrowDnsAvailable.0 = INTEGER: true(1)" in walk.stdout
    assert "burrowCertDaysLeft." in walk.stdout
    interfaces = v2c("snmpwalk", address, COMMUNITY, "ifDescr")
    assert "IF-MIB::ifDescr." in interfaces.stdout and "STRING: br0" in interfaces.stdout

    # v3 authPriv with SHA-256 and AES reads the same.
    secure = v3("snmpwalk", address, USER, AUTH_PASS, PRIV_PASS, "burrowPrograms")
    assert secure.returncode == 0 and "burrowProgramState" in secure.stdout, secure.stderr

    # A wrong community, one from outside its networks, a wrong user or pass phrase: nothing.
    for refused in (
        v2c("snmpwalk", address, "public", "system"),
        v2c("snmpwalk", address, ELSEWHERE, "system"),
        v3("snmpwalk", address, "nobody", AUTH_PASS, PRIV_PASS, "system"),
        v3("snmpwalk", address, USER, "wrong-pass-1234", PRIV_PASS, "system"),
    ):
        assert refused.returncode != 0, refused
        assert "sysName" not in refused.stdout

    # /metrics: the scrape token or a session token; nothing without.
    url = f"https://{address}:1231/metrics"
    tls = box.tls_context()
    assert httpx.get(url, verify=tls).status_code == 401
    assert httpx.get(url, verify=tls, headers={"Authorization": "Bearer wrong"}).status_code == 401
    metrics = httpx.get(url, verify=tls, headers={"Authorization": f"Bearer {SCRAPE_TOKEN}"})
    assert metrics.status_code == 200, metrics.text
    assert 'burrow_program_up{program="named"} 1' in metrics.text
    assert "burrow_dns_queries_total" in metrics.text
    assert 'burrow_dhcp_pool_total{family="ipv4"' in metrics.text
    by_session = httpx.get(url, verify=tls, headers={"Authorization": f"Bearer {token}"})
    assert by_session.status_code == 200
