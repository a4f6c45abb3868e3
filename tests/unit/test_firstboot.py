"""First boot: settings from the kernel command line and NoCloud seeds, appliance.json, banner."""

from __future__ import annotations

import ipaddress
import subprocess
import sys
from pathlib import Path

import pytest

from services.appliance import console, firstboot
from services.appliance.firstboot import FirstBoot, InterfaceConfig
from services.common.errors import ValidationError
from services.common.monitoring import MonitoringSettings
from services.common.paths import StateRoot
from services.common.pki import CertificateAuthority, fingerprint, load_cert
from services.common.settings import ApplianceSettings

MACS = {"eth0": "52:54:00:00:01:01", "eth1": "52:54:00:00:01:02"}


# --- kernel command line -----------------------------------------------------------
def test_cmdline_without_burrow_parameters_is_none() -> None:
    assert firstboot.parse_cmdline("root=UUID=x ro console=ttyS0 quiet", "eth0") is None


def test_cmdline_static_settings() -> None:
    fb = firstboot.parse_cmdline(
        "ro burrow.address=198.51.100.10/24 burrow.gateway=198.51.100.1 "
        "burrow.dns=198.51.100.53,2001:db8::53 burrow.hostname=ns1 burrow.password=s3cret!",
        "eth0",
    )
    assert fb is not None
    assert fb.source == "cmdline"
    assert fb.interface == "eth0"
    assert fb.management().addresses == [ipaddress.ip_interface("198.51.100.10/24")]
    assert not fb.management().dhcp
    assert fb.gateway == ipaddress.IPv4Address("198.51.100.1")
    assert [str(r) for r in fb.resolvers] == ["198.51.100.53", "2001:db8::53"]
    assert fb.hostname == "ns1"
    assert fb.admin_password == "s3cret!"


def test_cmdline_dhcp_on_a_named_interface() -> None:
    fb = firstboot.parse_cmdline("burrow.interface=eth1 burrow.address=dhcp", "eth0")
    assert fb is not None
    assert fb.interface == "eth1"
    assert fb.management() == InterfaceConfig(name="eth1", dhcp=True)


@pytest.mark.parametrize(
    ("cmdline", "field"),
    [
        ("burrow.address=198.51.100.10", "burrow.address"),
        ("burrow.address=198.51.100.300/24", "interfaces.0.addresses.0"),
        ("burrow.gateway=gateway", "gateway"),
        ("burrow.hostname=not_valid", "hostname"),
        ("burrow.adress=198.51.100.10/24", "burrow.adress"),
    ],
)
def test_cmdline_errors_name_the_parameter(cmdline: str, field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        firstboot.parse_cmdline(cmdline, "eth0")
    assert caught.value.field == field


# --- NoCloud -----------------------------------------------------------------------------
USER_DATA = """#cloud-config
hostname: ns-test
burrow:
  admin_password: "horse battery"
  dhcp_interfaces: [eth1]
  seed_subnet4: {subnet: 203.0.113.0/24, pool_start: 203.0.113.100, pool_end: 203.0.113.150}
"""


def test_nocloud_v2_by_mac_address() -> None:
    files = {
        "meta-data": "instance-id: i-1\nlocal-hostname: ns9.example.com\n",
        "user-data": USER_DATA,
        "network-config": """version: 2
ethernets:
  lan:
    match: {macaddress: "52:54:00:00:01:02"}
    addresses: [203.0.113.1/24]
  mgmt:
    match: {macaddress: "52:54:00:00:01:01"}
    addresses: [198.51.100.20/24]
    routes: [{to: default, via: 198.51.100.1}]
    nameservers: {addresses: [198.51.100.53]}
""",
    }
    fb = firstboot.parse_nocloud(files, MACS, "eth0")
    assert fb.source == "nocloud"
    assert fb.hostname == "ns-test"  # user-data wins over meta-data
    assert fb.interface == "eth0"  # the interface with the default route
    assert [i.name for i in fb.interfaces] == ["eth1", "eth0"]
    assert fb.gateway == ipaddress.IPv4Address("198.51.100.1")
    assert [str(r) for r in fb.resolvers] == ["198.51.100.53"]
    assert fb.admin_password == "horse battery"
    assert fb.settings["dhcp_interfaces"] == ["eth1"]


def test_nocloud_v1_static_with_netmask() -> None:
    files = {
        "meta-data": "local-hostname: edge\n",
        "network-config": """version: 1
config:
  - type: physical
    name: eth0
    subnets:
      - {type: static, address: 198.51.100.30, netmask: 255.255.255.0, gateway: 198.51.100.1}
  - type: nameserver
    address: [198.51.100.53]
""",
    }
    fb = firstboot.parse_nocloud(files, MACS, "eth0")
    assert fb.hostname == "edge"
    assert fb.management().addresses == [ipaddress.ip_interface("198.51.100.30/24")]
    assert fb.gateway == ipaddress.IPv4Address("198.51.100.1")
    assert fb.admin_password is None


def test_nocloud_without_network_config_uses_dhcp_on_the_first_interface() -> None:
    fb = firstboot.parse_nocloud({"meta-data": "instance-id: x\n"}, MACS, "eth0")
    assert fb.management() == InterfaceConfig(name="eth0", dhcp=True)


@pytest.mark.parametrize(
    ("files", "field"),
    [
        ({"network-config": "version: 2\nethernets: [\n"}, "network-config"),
        ({"network-config": "version: 3\n"}, "version"),
        (
            {"network-config": "version: 2\nethernets: {x: {match: {macaddress: 'aa:bb'}}}\n"},
            "x",
        ),
        ({"user-data": "#cloud-config\nburrow: {admin_pasword: x}\n"}, "admin_pasword"),
        (
            {"network-config": "version: 2\nethernets: {eth0: {addresses: [1.2.3.4/40]}}\n"},
            "interfaces.0.addresses.0",
        ),
    ],
)
def test_nocloud_errors_name_the_field(files: dict[str, str], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        firstboot.parse_nocloud(files, MACS, "eth0")
    assert caught.value.field == field


# --- appliance.json -------------------------------------------------------------------------
def test_appliance_settings_take_the_management_address_and_seed_settings() -> None:
    fb = firstboot.parse_nocloud({"user-data": USER_DATA}, MACS, "eth0")
    settings = firstboot.appliance_settings(
        fb,
        {"eth0": [ipaddress.ip_interface("fe80::1/64"), ipaddress.ip_interface("10.0.2.15/24")]},
        None,
    )
    assert settings.address == ipaddress.IPv4Interface("10.0.2.15/24")
    assert settings.hostname == "ns-test"
    assert settings.dhcp_interfaces == ["eth1"]
    assert settings.seed_subnet4 is not None
    assert str(settings.seed_subnet4.subnet) == "203.0.113.0/24"


def test_appliance_settings_need_an_ipv4_address() -> None:
    fb = FirstBoot(
        source="default", interface="eth0", interfaces=[InterfaceConfig(name="eth0", dhcp=True)]
    )
    with pytest.raises(ValidationError) as caught:
        firstboot.appliance_settings(fb, {"eth0": []}, None)
    assert caught.value.field == "address"


# --- banner and menu ------------------------------------------------------------------------
def _configured_root(tmp_path: Path) -> StateRoot:
    root = StateRoot.at(tmp_path)
    root.etc.mkdir(parents=True)
    ApplianceSettings(hostname="ns1", address=ipaddress.IPv4Interface("198.51.100.10/24")).save(
        root.appliance_settings
    )
    fb = firstboot.parse_cmdline("burrow.address=198.51.100.10/24 burrow.password=pw", "eth0")
    assert fb is not None
    firstboot.save_firstboot(root, fb)
    return root


def test_firstboot_json_is_private(tmp_path: Path) -> None:
    root = _configured_root(tmp_path)
    assert firstboot.firstboot_path(root).stat().st_mode & 0o777 == 0o600


def test_banner_shows_urls_fingerprints_password_and_programs(tmp_path: Path) -> None:
    root = _configured_root(tmp_path)
    ca = CertificateAuthority(root.pki / "ca")
    ca.create("Burrow CA test")
    ca.issue(root.pki, "webui", server_names=["198.51.100.10"])
    root.secrets.mkdir(parents=True)
    (root.secrets / "initial-admin-password").write_text("generated-pw\n")
    text = console.banner(root, {"named": "RUNNING", "central": "STARTING"})
    assert "Burrow appliance ns1" in text
    assert "Web console: https://198.51.100.10/" in text
    assert "API: https://198.51.100.10:1231/api/v1/" in text
    assert f"CA certificate SHA-256: {fingerprint(load_cert(ca.paths.cert))}" in text
    webui = fingerprint(load_cert(root.pki / "webui.crt"))
    assert f"Web console certificate SHA-256: {webui}" in text
    assert "Administrator password (generated): generated-pw" in text
    assert "Programs: 1 of 2 RUNNING" in text
    assert "Not running: central STARTING" in text


def test_banner_before_first_boot(tmp_path: Path) -> None:
    assert "not configured yet" in console.banner(StateRoot.at(tmp_path), None)


def test_menu_turns_answers_into_settings_and_keeps_the_password(tmp_path: Path) -> None:
    root = _configured_root(tmp_path)
    answers = iter(["eth0", "198.51.100.44/25", "198.51.100.1", "198.51.100.53", "edge", "yes"])
    fb = firstboot.menu(root, ask=lambda _prompt, _default: next(answers))
    assert fb is not None
    assert fb.source == "console"
    assert fb.management().addresses == [ipaddress.ip_interface("198.51.100.44/25")]
    assert fb.hostname == "edge"
    assert fb.admin_password == "pw"


def test_menu_cancel_and_bad_input_change_nothing(tmp_path: Path) -> None:
    root = _configured_root(tmp_path)
    before = firstboot.firstboot_path(root).read_text()
    answers = iter(["eth0", "dhcp", "", "", "burrow", "no"])
    assert firstboot.menu(root, ask=lambda _p, _d: next(answers)) is None
    bad = iter(["eth0", "198.51.100.44", "", "", "burrow", "yes"])
    with pytest.raises(ValidationError):
        firstboot.menu(root, ask=lambda _p, _d: next(bad))
    assert firstboot.firstboot_path(root).read_text() == before


def test_admin_password_goes_to_central_once(tmp_path: Path) -> None:
    import json

    from services.appliance.firstboot import hand_admin_password_to_central

    root = StateRoot.at(tmp_path)
    root.etc.mkdir(parents=True)
    root.lib.mkdir(parents=True)
    fb = FirstBoot.model_construct(admin_password="correct horse battery")
    assert hand_admin_password_to_central(root, fb)
    target = root.etc / "first-admin.json"
    assert json.loads(target.read_text()) == {
        "username": "admin",
        "password": "correct horse battery",
    }
    assert target.stat().st_mode & 0o077 == 0
    target.unlink()  # Central used it
    (root.lib / "central.db").write_text("")
    assert not hand_admin_password_to_central(root, fb)  # Central exists: never again
    assert not target.exists()


def test_the_resident_console_programs_stay_small() -> None:
    """The banner and tty1's screen run all the time: no pydantic, cryptography or pyroute2."""
    code = (
        "import sys, services.appliance.console as c;"
        "c.banner(c.StateRoot.at(sys.argv[1]), None);"
        "print(' '.join(m for m in ('pydantic', 'cryptography', 'pyroute2', 'yaml')"
        " if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, "/nonexistent"], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == ""


# --- monitoring settings at first boot (issue 19) -----------------------------------
def test_cmdline_ntp_and_snmp_community(tmp_path: Path) -> None:
    cmdline = (
        "burrow.address=198.51.100.20/24 burrow.ntp=198.51.100.5,ntp.example "
        "burrow.snmp_community=a-long-secret burrow.snmp_networks=198.51.100.0/24"
    )
    fb = firstboot.parse_cmdline(cmdline, "eth0")
    assert fb is not None
    root = StateRoot.at(tmp_path)
    root.make_dirs()
    firstboot.write_monitoring(root, fb)
    stored = MonitoringSettings.load(root.monitoring_settings)
    assert stored.ntp_servers == ["198.51.100.5", "ntp.example"]
    assert stored.communities[0].community == "a-long-secret"
    assert root.monitoring_settings.stat().st_mode & 0o077 == 0
    # written once: a later boot keeps what the API set since
    firstboot.write_monitoring(root, fb.model_copy(update={"monitoring": {"ntp_servers": []}}))
    assert MonitoringSettings.load(root.monitoring_settings).ntp_servers != []


@pytest.mark.parametrize(
    ("cmdline", "field"),
    [
        ("burrow.snmp_community=a-long-secret", "burrow.snmp_networks"),
        ("burrow.snmp_community=short burrow.snmp_networks=10.0.0.0/8",
         "monitoring.communities.0.community"),
        ("burrow.ntp=bad_host!", "monitoring.ntp_servers.0"),
    ],
)  # fmt: skip
def test_cmdline_monitoring_errors_name_the_field(cmdline: str, field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        firstboot.parse_cmdline(cmdline, "eth0")
    assert caught.value.field == field


def test_nocloud_monitoring_document() -> None:
    files = {
        "user-data": "#cloud-config\nburrow:\n  monitoring:\n    users:\n"
        "      - {name: ops, auth_passphrase: auth-pass-1, priv_passphrase: priv-pass-1}\n"
        "    receivers: [{address: 198.51.100.9, user: ops}]\n",
    }
    fb = firstboot.parse_nocloud(files, MACS, "eth0")
    assert fb.monitoring["users"][0]["name"] == "ops"
    files["user-data"] = "#cloud-config\nburrow:\n  monitoring:\n    users: [{name: ops}]\n"
    with pytest.raises(ValidationError, match="pass phrases"):
        firstboot.parse_nocloud(files, MACS, "eth0")
