"""The caching image (``./build.sh image --profile caching``), booted under qemu: every program
RUNNING and they are the caching appliance's (Unbound, no named, no Kea), Unbound answers and
refuses a client outside its allowed networks, a local zone set through Central is answered,
Central's health over HTTPS, the web console and the diagnostic shell.

The tests of this module share one VM (BIOS, NoCloud seed) and run in order.
"""

from __future__ import annotations

import re
import time

import pytest

from services.common.proc import run
from tests.system.appliance import LAN_ADDRESS, Appliance
from tests.system.conftest import ADMIN_PASSWORD, record

pytestmark = [pytest.mark.sandbox, pytest.mark.timeout(1800)]

READY = r"burrow: ready"
ALL_RUNNING = r"Programs: (\d+) of (\d+) RUNNING"

#: The supervisord programs of a caching appliance (services.common.launch).
CACHING_PROGRAMS = {
    "unbound",
    "dns-agent",
    "central",
    "webui",
    "appliance-agent",
    "diag-shell",
    "monitor",
}
#: Programs only the DNS/DHCP appliance runs.
DNS_DHCP_ONLY = {
    "named",
    "kea-dhcp4",
    "kea-dhcp6",
    "kea-ctrl-agent",
    "kea-dhcp-ddns",
    "dns-dhcp-agent",
}

LAN_CLIENT = "198.51.100.2/24"

state: dict[str, str] = {}


def test_first_boot_and_every_program_runs(caching_appliance: Appliance) -> None:
    vm = caching_appliance
    ready = vm.wait_console(READY)
    running = vm.wait_console(ALL_RUNNING, after=ready.start())
    assert running.group(1) == running.group(2), running.group(0)
    seconds = vm.wait_healthy()
    record("caching: boot to all healthy seconds (BIOS)", round(seconds, 1))
    console = vm.console()
    assert "Burrow caching appliance cache-test" in console
    assert f"Interface eth1: {LAN_ADDRESS}" in console
    memory = re.findall(r"Memory in use: (\d+) MB", console)
    assert memory, "the banner shows the memory in use"
    record("caching: memory in use after boot MB", int(memory[-1]))


def test_the_programs_are_the_caching_appliances(caching_appliance: Appliance) -> None:
    """What supervisord runs, as the monitor program reports it through Central."""
    token = caching_appliance.login(ADMIN_PASSWORD)
    state["token"] = token
    deadline = time.monotonic() + 120
    while True:
        # 503 until the monitor program has collected its first figures.
        status, figures = caching_appliance.api("GET", "/api/v1/monitoring/figures", token=token)
        if status == 200 or time.monotonic() > deadline:
            break
        time.sleep(2)
    assert status == 200, (status, figures)
    programs = {p["name"]: p["state"] for p in figures["programs"]}
    assert CACHING_PROGRAMS <= set(programs), programs
    assert not DNS_DHCP_ONLY & set(programs), programs
    assert all(s == "RUNNING" for s in programs.values()), programs


def test_unbound_answers_and_refuses_outsiders(caching_appliance: Appliance) -> None:
    vm = caching_appliance
    # Through qemu's user network the question comes from 10.0.2.2: a private network,
    # allowed by the default access rules.
    answer = vm.dns_query("localhost.", "A")
    assert answer.rcode() == 0
    assert [r.to_text() for rrset in answer.answer for r in rrset] == ["127.0.0.1"]
    # From the LAN namespace (198.51.100.0/24, not a private network) Unbound refuses.
    run(["ip", "-n", vm.lan_ns, "addr", "replace", LAN_CLIENT, "dev", vm.tap])
    appliance_lan = LAN_ADDRESS.split("/")[0]
    out = vm.lan_dig(appliance_lan, "localhost.", "A")
    assert "status: REFUSED" in out, out


def test_a_local_zone_set_through_central_is_answered(caching_appliance: Appliance) -> None:
    """Central's caching settings, through the dns-agent to Unbound: a local zone, and the LAN
    allowed; put back afterwards, the LAN is refused again."""
    vm = caching_appliance
    assert "token" in state, "the earlier tests of this module must run first"
    token = state["token"]
    status, servers = vm.api("GET", "/api/v1/caching/servers", token=token)
    assert status == 200, (status, servers)
    local = [server for server in servers if server["local"]]
    assert len(local) == 1, servers
    path = f"/api/v1/caching/servers/{local[0]['id']}/settings"
    # The dns-agent starts at a lower priority than Central (services.common.priority) and may
    # still be loading its code: 503 until it serves.
    deadline = time.monotonic() + 180
    while True:
        status, view = vm.api("GET", path, token=token)
        if status != 503 or time.monotonic() > deadline:
            break
        time.sleep(2)
    assert status == 200, (status, view)
    before = view["settings"]
    changed = {
        **before,
        "local_zones": [
            *before["local_zones"],
            {"name": "lan.example.", "type": "static",
             "records": ["host.lan.example. 300 IN A 198.51.100.20"]},
        ],
        "access": [*before["access"], {"network": "198.51.100.0/24", "action": "allow"}],
    }  # fmt: skip
    appliance_lan = LAN_ADDRESS.split("/")[0]
    try:
        status, answer = vm.api(
            "PUT", path, {"settings": changed, "comment": "system test"}, token=token
        )
        assert status == 200, (status, answer)
        out = vm.lan_dig(appliance_lan, "host.lan.example.", "A")
        assert "status: NOERROR" in out and "198.51.100.20" in out, out
        answer = vm.dns_query("nothing.lan.example.", "A")
        assert answer.rcode() == 3  # NXDOMAIN: a static zone answers only its records
    finally:
        status, answer = vm.api(
            "PUT", path, {"settings": before, "comment": "system test: put back"}, token=token
        )
    assert status == 200, (status, answer)
    assert "status: REFUSED" in vm.lan_dig(appliance_lan, "host.lan.example.", "A")


def test_central_answers_health_over_https(caching_appliance: Appliance) -> None:
    status, body, fingerprint = caching_appliance.https_get(1231, "/api/v1/health")
    assert status == 200
    assert b'"status":"ok"' in body
    assert fingerprint == caching_appliance.banner_value("API")


def test_web_console_is_served(caching_appliance: Appliance) -> None:
    status, body, fingerprint = caching_appliance.https_get(443, "/")
    assert status == 200
    assert b"Burrow" in body
    assert fingerprint == caching_appliance.banner_value("Web console")


def test_diagnostic_shell_answers_ssh(caching_appliance: Appliance) -> None:
    assert caching_appliance.wait_ssh_banner().startswith(b"SSH-2.0-")
