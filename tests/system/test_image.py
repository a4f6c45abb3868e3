"""The built image, booted under qemu: every program RUNNING, DNS, DHCP on the VM's LAN,
Central's health over HTTPS, the web console, and a reboot that keeps all state.

The tests of this module share one VM (BIOS, NoCloud seed) and run in order.
"""

from __future__ import annotations

import ipaddress
import re

import pytest

from services.sandbox.sandbox import Client
from tests.harness.dhcp import dhclient
from tests.system.appliance import LAN_ADDRESS, POOL, Appliance
from tests.system.conftest import record

pytestmark = [pytest.mark.sandbox, pytest.mark.timeout(1800)]

READY = r"burrow: ready"
ALL_RUNNING = r"Programs: (\d+) of (\d+) RUNNING"

state: dict[str, str] = {}


def _in_pool(address: str) -> bool:
    low, high = (ipaddress.IPv4Address(a) for a in POOL)
    return low <= ipaddress.IPv4Address(address) <= high


def _lease(vm: Appliance, mac: str) -> str:
    from services.common.proc import run

    run(["ip", "-n", vm.lan_ns, "link", "set", vm.tap, "address", mac])
    values = dhclient(Client(ns=vm.lan_ns, iface=vm.tap, mac=mac), timeout=60)
    return values["new_ip_address"]


def test_first_boot_takes_the_seed_and_every_program_runs(appliance: Appliance) -> None:
    ready = appliance.wait_console(READY)
    running = appliance.wait_console(ALL_RUNNING, after=ready.start())
    assert running.group(1) == running.group(2), running.group(0)
    # named, 3 Kea, central, dns-dhcp-agent, appliance-agent, webui, diag-shell, monitor
    assert int(running.group(2)) >= 10
    seconds = appliance.wait_healthy()
    record("boot to all healthy seconds (BIOS)", round(seconds, 1))
    console = appliance.console()
    assert "Burrow appliance ns-test" in console
    assert f"Interface eth1: {LAN_ADDRESS}" in console
    memory = re.findall(r"Memory in use: (\d+) MB", console)
    assert memory, "the banner shows the memory in use"
    record("memory in use after boot MB", int(memory[-1]))


def test_dns_query_is_answered(appliance: Appliance) -> None:
    answer = appliance.dns_query("burrow.example.", "SOA")
    assert answer.rcode() == 0
    assert answer.answer and answer.answer[0].rdtype == 6  # SOA


def test_central_answers_health_over_https(appliance: Appliance) -> None:
    status, body, fingerprint = appliance.https_get(1231, "/api/v1/health")
    assert status == 200
    assert b'"status":"ok"' in body
    assert fingerprint == appliance.banner_value("API")


def test_web_console_is_served(appliance: Appliance) -> None:
    status, body, fingerprint = appliance.https_get(443, "/")
    assert status == 200
    assert b"Burrow" in body
    assert fingerprint == appliance.banner_value("Web console")
    state["ca"] = appliance.banner_value("CA")
    state["webui"] = fingerprint


def test_diagnostic_shell_answers_ssh(appliance: Appliance) -> None:
    assert appliance.wait_ssh_banner().startswith(b"SSH-2.0-")


def test_dhcp_lease_on_the_vms_network(appliance: Appliance) -> None:
    address = _lease(appliance, "02:00:00:00:00:01")
    assert _in_pool(address), address
    state["lease1"] = address


def test_reboot_keeps_all_state(appliance: Appliance) -> None:
    assert "lease1" in state and "ca" in state, "the earlier tests of this module must run first"
    mark = len(appliance.console())
    appliance.ctrl_alt_delete()
    appliance.wait_console(r"reboot: Restarting system|Reached target.*Reboot", after=mark)
    after = len(appliance.console())
    appliance.wait_console(READY, after=after)
    appliance.wait_healthy()
    # The identity is the same: the CA and the web console's certificate were kept.
    assert appliance.banner_value("CA", after=after) == state["ca"]
    _status, _body, fingerprint = appliance.https_get(443, "/")
    assert fingerprint == state["webui"]
    # The first boot was not run again: the seed's settings are still in force.
    console = appliance.console()[after:]
    assert "Burrow appliance ns-test" in console
    assert f"Interface eth1: {LAN_ADDRESS}" in console
    # Kea's leases were kept: a new client gets another address, the first one its own.
    second = _lease(appliance, "02:00:00:00:00:02")
    assert _in_pool(second) and second != state["lease1"], (second, state["lease1"])
    assert _lease(appliance, "02:00:00:00:00:01") == state["lease1"]
    assert appliance.dns_query("burrow.example.", "SOA").rcode() == 0


def test_uefi_boot_with_no_settings_uses_dhcp(uefi_appliance: Appliance) -> None:
    ready = uefi_appliance.wait_console(READY)
    running = uefi_appliance.wait_console(ALL_RUNNING, after=ready.start())
    assert running.group(1) == running.group(2), running.group(0)
    seconds = uefi_appliance.wait_healthy()
    record("boot to all healthy seconds (UEFI)", round(seconds, 1))
    console = uefi_appliance.console()
    assert "BdsDxe: starting Boot" in console  # OVMF, the UEFI firmware, started the disk
    # No settings were given: DHCP on the first interface (qemu's user network).
    assert "Interface eth0: 10.0.2.15/24 (DHCP)" in console
