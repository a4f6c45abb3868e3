"""burrow-launch on a caching appliance (profile ``caching``): Unbound, no named, no Kea."""

from __future__ import annotations

import ipaddress
import os
import stat
import subprocess
from pathlib import Path

import pytest

from central.core.config import local_agents
from services.common import profile
from services.common.caching.contract import CachingSettings
from services.common.errors import SetupError
from services.common.launch import CACHING_START_NICED, Launcher
from services.common.paths import StateRoot
from services.common.priority import START_NICE
from services.common.settings import ApplianceSettings


def _root(tmp_path: Path) -> StateRoot:
    root = StateRoot.at(tmp_path)
    root.etc.mkdir(parents=True)
    ApplianceSettings(
        hostname="unit",
        interface="lo",
        address=ipaddress.IPv4Interface("198.51.100.2/24"),
    ).save(root.appliance_settings)
    profile.save(root, "caching")
    return root


def test_the_programs_are_unbound_and_the_agents_of_a_caching_appliance(tmp_path: Path) -> None:
    root = _root(tmp_path)
    programs = {p.name: p for p in Launcher(root, python="python3", pythonpath=None).programs()}
    assert {"unbound", "central", "webui", "dns-agent", "appliance-agent", "diag-shell",
            "monitor"} <= set(programs)  # fmt: skip
    assert not [n for n in programs if n in ("named", "dns-dhcp-agent") or n.startswith("kea")]
    assert programs["unbound"].command == f"unbound -d -c {root.unbound_conf}"
    assert " -m services.caching --root " in programs["dns-agent"].command
    niced = {name for name, p in programs.items() if p.command.startswith(f"nice -n {START_NICE} ")}
    assert niced == (set(CACHING_START_NICED) if os.getuid() == 0 else set())


def test_prepare_renders_unbound_and_nothing_of_named_or_kea(tmp_path: Path) -> None:
    root = _root(tmp_path)
    Launcher(root, python="/usr/bin/python3", pythonpath=None).prepare()
    text = root.unbound_conf.read_text()
    assert f'auto-trust-anchor-file: "{root.unbound_trust_anchor}"' in text
    subprocess.run(["unbound-checkconf", str(root.unbound_conf)], check=True, capture_output=True)
    assert root.unbound_trust_anchor.exists()
    for absent in (root.named_conf, root.rndc_key, root.tsig_key, root.kea_conf("dhcp4"),
                   root.kea_conf("ctrl-agent"), root.kea_api_password):  # fmt: skip
        assert not absent.exists(), absent
    assert root.console_client_key.exists()
    conf = root.supervisord_conf.read_text()
    assert "[program:unbound]" in conf
    assert "[program:named]" not in conf and "kea" not in conf
    if os.getuid() == 0:
        # Unbound may replace its trust anchor, never the settings (sticky, group-writable).
        mode = root.unbound_lib.stat().st_mode
        assert stat.S_IMODE(mode) == 0o1770
        assert root.unbound_trust_anchor.owner() == "unbound"
        assert root.unbound_lib.owner() == "root"


def test_stored_caching_settings_reach_unbound_conf(tmp_path: Path) -> None:
    root = _root(tmp_path)
    CachingSettings.model_validate(
        {"forwarders": [{"address": "198.51.100.53"}], "msg_cache_mb": 8}
    ).save(root.caching_settings)
    Launcher(root, python="/usr/bin/python3", pythonpath=None).prepare()
    text = root.unbound_conf.read_text()
    assert "forward-addr: 198.51.100.53" in text
    assert "msg-cache-size: 8m" in text


def test_unreadable_caching_settings_stop_the_start_with_a_clear_error(tmp_path: Path) -> None:
    root = _root(tmp_path)
    root.unbound_lib.mkdir(parents=True)
    root.caching_settings.write_text("{not json")
    with pytest.raises(SetupError, match="caching settings"):
        Launcher(root, python="/usr/bin/python3", pythonpath=None).prepare()


def test_central_enrols_a_caching_dns_agent_and_no_dhcp_agent(tmp_path: Path) -> None:
    root = _root(tmp_path)
    assert [(a.program, a.kind, a.port) for a in local_agents(root)] == [
        ("dns-agent", "caching", 1337),
        ("appliance-agent", "appliance", 4603),
    ]
    profile.profile_file(root).unlink()
    assert [a.kind for a in local_agents(root)] == ["dns", "dhcp", "appliance"]
