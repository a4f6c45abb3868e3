"""The launcher renders configurations that the real daemons accept."""

from __future__ import annotations

import ipaddress
import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from services.common.errors import SetupError
from services.common.launch import Launcher, _readable_by_others
from services.common.paths import StateRoot
from services.common.settings import ApplianceSettings, SeedSubnet4


def _settings() -> ApplianceSettings:
    return ApplianceSettings(
        hostname="unit",
        interface="lo",
        address=ipaddress.IPv4Interface("198.51.100.2/24"),
        seed_subnet4=SeedSubnet4(
            subnet=ipaddress.IPv4Network("198.51.100.0/24"),
            pool_start=ipaddress.IPv4Address("198.51.100.100"),
            pool_end=ipaddress.IPv4Address("198.51.100.199"),
        ),
    )


@pytest.fixture
def prepared(tmp_path: Path) -> StateRoot:
    root = StateRoot.at(tmp_path)
    root.etc.mkdir(parents=True)
    _settings().save(root.appliance_settings)
    Launcher(root, python="/usr/bin/python3", pythonpath=None).prepare()
    return root


def test_named_configuration_is_valid(prepared: StateRoot) -> None:
    subprocess.run(["named-checkconf", "-z", str(prepared.named_conf)], check=True)


def test_kea_configurations_are_valid(prepared: StateRoot) -> None:
    for daemon, binary in (("dhcp4", "kea-dhcp4"), ("dhcp6", "kea-dhcp6")):
        subprocess.run(
            [binary, "-t", str(prepared.kea_conf(daemon))], check=True, capture_output=True
        )
    subprocess.run(
        ["kea-ctrl-agent", "-t", str(prepared.kea_conf("ctrl-agent"))],
        check=True,
        capture_output=True,
    )


def test_control_agent_stays_on_loopback_with_basic_auth(prepared: StateRoot) -> None:
    agent = json.loads(prepared.kea_conf("ctrl-agent").read_text())["Control-agent"]
    assert agent["http-host"] == "127.0.0.1"
    assert agent["authentication"]["type"] == "basic"
    assert agent["authentication"]["clients"][0]["password"]
    assert prepared.kea_conf("ctrl-agent").stat().st_mode & 0o027 == 0  # no one but Kea


def test_every_program_restarts_and_logs(prepared: StateRoot) -> None:
    text = prepared.supervisord_conf.read_text()
    sections = [line for line in text.splitlines() if line.startswith("[program:")]
    # the dns-agent and the dhcp-agent share dns-dhcp-agent; monitor, syslog, chrony (issue 19);
    # kea-dhcp-ddns (DNS updates from DHCP)
    assert len(sections) == 13
    for program in ("monitor", "syslog", "chrony", "kea-dhcp-ddns"):
        assert f"[program:{program}]" in text
    assert " -x " in text.split("[program:chrony]")[1]  # never steers this machine's clock
    assert text.count("\nautorestart=true") == 13
    assert text.count("\nstopasgroup=true") == 13
    # crashes are recorded by supervisord itself (services.common.crash_records), not by an
    # event-listener program
    assert "[eventlistener:" not in text
    # DHCP-DDNS's configuration holds TSIG secrets: not for others to read
    d2 = prepared.kea_conf("dhcp-ddns")
    assert d2.stat().st_mode & 0o007 == 0 and '"forward-ddns"' in d2.read_text()


def test_secrets_are_private_and_kept(prepared: StateRoot) -> None:
    password = prepared.kea_api_password.read_text()
    assert prepared.secrets.stat().st_mode & 0o077 == 0
    assert (prepared.pki / "ca/ca.key").stat().st_mode & 0o077 == 0
    Launcher(prepared, python="/usr/bin/python3", pythonpath=None).prepare()
    assert prepared.kea_api_password.read_text() == password


def test_stale_run_files_are_cleared(prepared: StateRoot) -> None:
    stale = prepared.kea_run / "kea-dhcp4.kea-dhcp4.pid"
    stale.write_text("1\n")
    Launcher(prepared, python="/usr/bin/python3", pythonpath=None).prepare()
    assert not stale.exists()


def test_missing_settings_is_one_clear_sentence(tmp_path: Path) -> None:
    from services.common.launch import main

    assert main(["--root", str(tmp_path), "--prepare-only"]) == 1


def test_bad_settings_name_the_field() -> None:
    with pytest.raises(ValueError, match="hostname"):
        ApplianceSettings.model_validate({"hostname": "bad_name!", "address": "198.51.100.2/24"})


def test_missing_kea_hooks_is_a_setup_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from services.common import launch

    monkeypatch.setattr(launch.glob, "glob", lambda pattern: [])
    with pytest.raises(SetupError, match="lease_cmds"):
        launch.kea_hooks_dir()


def test_atomic_write_keeps_owner_and_group(tmp_path: Path) -> None:
    import os

    from services.common.files import write_atomic

    target = tmp_path / "conf"
    target.write_text("old")
    os.chown(target, 0, 65534)  # group nogroup, as a daemon's group would be
    write_atomic(target, "new", mode=0o640)
    assert target.read_text() == "new"
    assert target.stat().st_gid == 65534
    assert target.stat().st_mode & 0o777 == 0o640


def test_code_another_user_cannot_read_is_noticed() -> None:
    # Not under tmp_path: pytest's own directory is 0700, which is the point of the check.
    shared = Path(tempfile.mkdtemp(prefix="bw-readable-"))
    try:
        (shared / "pkg").mkdir()
        (shared / "pkg").chmod(0o755)  # whatever the umask (launch's main sets 027)
        shared.chmod(0o755)
        assert _readable_by_others(shared / "pkg")
        shared.chmod(0o700)  # like root's home: nothing below it can be reached
        assert not _readable_by_others(shared / "pkg")
        shared.chmod(0o755)
        (shared / "pkg").chmod(0o711)  # reachable, but what is in it cannot be listed
        assert not _readable_by_others(shared / "pkg")
    finally:
        shutil.rmtree(shared)
