"""A whole caching appliance (profile ``caching``) in a sandbox: Unbound instead of named and
Kea, every other program as on a DNS/DHCP appliance, its agents enrolled at Central."""

from __future__ import annotations

import os
import signal
import time

import dns.rcode
import pytest

from services.sandbox.sandbox import CACHING_AGENT_PORTS, Sandbox
from tests.harness.wait import wait_for

pytestmark = pytest.mark.sandbox


def test_every_program_runs_and_there_is_no_named_nor_kea(caching_sandbox: Sandbox) -> None:
    box = caching_sandbox
    states = box.supervisor().states()
    assert set(box.programs) <= set(states), states
    assert set(states.values()) == {"RUNNING"}, states
    assert not [name for name in states if name == "named" or name.startswith("kea")]
    assert "dns-dhcp-agent" not in states
    assert not box.root.named_conf.exists()
    assert not box.root.kea_conf("dhcp4").exists()
    assert not box.root.rndc_key.exists()


def test_unbound_answers_from_its_own_data(caching_sandbox: Sandbox) -> None:
    answer = caching_sandbox.dns_query("localhost.", "A")
    assert answer.rcode() == dns.rcode.NOERROR
    assert [rr.to_text() for rrset in answer.answer for rr in rrset] == ["127.0.0.1"]
    status = caching_sandbox.unbound_control("status")
    assert "is running" in status


def test_central_lists_the_caching_server_and_the_appliance(caching_sandbox: Sandbox) -> None:
    box = caching_sandbox
    assert box.https(1231, "/api/v1/health").status_code == 200
    token = box.central_token()
    servers = box.https(1231, "/api/v1/servers?filter=local:true&sort=kind", token=token).json()
    assert [s["kind"] for s in servers["items"]] == ["appliance", "caching"]
    ports = {s["kind"]: s["port"] for s in servers["items"]}
    assert ports == {"appliance": CACHING_AGENT_PORTS["appliance-agent"],
                     "caching": CACHING_AGENT_PORTS["dns-agent"]}  # fmt: skip
    for server in servers["items"]:
        assert server["address"] == box.address
        checked = box.https(
            1231, f"/api/v1/servers/{server['id']}?check=true", token=token, timeout=10
        ).json()
        assert checked["state"] == "reachable", checked


def test_a_crashed_unbound_answers_again_within_a_second(caching_sandbox: Sandbox) -> None:
    box = caching_sandbox
    view = box.supervisor()
    # A kill before startsecs would count as a failed start (supervisord's back-off).
    wait_for(lambda: view.states()["unbound"] == "RUNNING", timeout=20, what="RUNNING")
    old = view.pid("unbound")
    os.kill(old, signal.SIGKILL)
    killed = time.monotonic()
    wait_for(lambda: box.dns_query("localhost.", "A", timeout=0.2).answer, timeout=10,
             interval=0.01, what="an answer from the new unbound")  # fmt: skip
    back = time.monotonic() - killed
    assert view.pid("unbound") not in (0, old)
    assert back < 1.0, f"unbound answered again after {back:.2f} s"
    wait_for(lambda: view.states()["unbound"] == "RUNNING", timeout=20, what="RUNNING again")


def test_a_local_zone_put_through_the_dns_agent_is_answered(caching_sandbox: Sandbox) -> None:
    box = caching_sandbox
    before = box.https(1337, "/caching/settings", timeout=10)
    assert before.status_code == 200, before.text
    settings = before.json()
    zone = {"name": "profile.test.", "type": "static",
            "records": ["www.profile.test. 300 IN A 198.51.100.66"]}  # fmt: skip
    try:
        body = {**settings, "local_zones": [*settings["local_zones"], zone]}
        put = box.https(1337, "/caching/settings", method="PUT", json_body=body, timeout=30)
        assert put.status_code == 200, put.text
        answer = box.dns_query("www.profile.test.", "A")
        assert [rr.to_text() for rrset in answer.answer for rr in rrset] == ["198.51.100.66"]
        # Unbound runs as its own user: the settings stay root's, the anchor Unbound's.
        assert box.root.caching_settings.owner() == "root"
        assert box.root.unbound_trust_anchor.owner() == "unbound"
    finally:
        back = box.https(1337, "/caching/settings", method="PUT", json_body=settings, timeout=30)
        assert back.status_code == 200, back.text
    assert box.dns_query("www.profile.test.", "A").rcode() != dns.rcode.NOERROR
