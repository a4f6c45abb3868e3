"""The caching profile's choices in the shell, the monitor, the banner, the first boot and the
sandbox, without daemons."""

from __future__ import annotations

import io
import ipaddress
import os
import subprocess
import sys
from pathlib import Path

import pytest

from services.appliance import firstboot
from services.appliance.backup import collect as collect_module
from services.appliance.backup.collect import Collector as BackupCollector
from services.appliance.console import banner
from services.appliance.firstboot import FirstBoot
from services.common import profile
from services.common.backup.bundle import write_bundle
from services.common.errors import SetupError
from services.common.paths import StateRoot
from services.monitor.collect import Collector, unbound_stats
from services.sandbox.sandbox import Sandbox
from services.shell import commands
from services.shell.runner import Context
from tests.backup_appliance.test_producer_unit import IDENTITY
from tests.conftest import PREFIX


def _ctx(tmp_path: Path, name: profile.Profile | None) -> tuple[Context, list[str]]:
    root = StateRoot.at(tmp_path)
    if name is not None:
        profile.save(root, name)
    out: list[str] = []
    return Context(root, out.append, lambda: False, "t"), out


@pytest.mark.parametrize("command", ["kea status", "rndc status", "dnssec a.example"])
def test_a_caching_shell_refuses_named_and_kea_commands(tmp_path: Path, command: str) -> None:
    ctx, out = _ctx(tmp_path, "caching")
    assert commands.execute(ctx, command) == commands.REFUSED
    assert "is not on this appliance" in "".join(out)
    assert command.split()[0] not in commands.available(ctx)
    assert "unbound" in commands.available(ctx)


@pytest.mark.parametrize("name", [None, "dns-dhcp"])
def test_a_dns_dhcp_shell_is_as_it_was(tmp_path: Path, name: profile.Profile | None) -> None:
    ctx, out = _ctx(tmp_path, name)
    assert commands.available(ctx) is commands.COMMANDS
    assert "unbound" not in commands.COMMANDS
    assert commands.execute(ctx, "unbound status") == commands.REFUSED
    assert "unknown command 'unbound'" in "".join(out)


def test_a_caching_shell_completes_and_helps_with_its_own_commands(tmp_path: Path) -> None:
    ctx, out = _ctx(tmp_path, "caching")
    assert commands.candidates(ctx, "un") == ("un", ["unbound"])
    assert commands.candidates(ctx, "k") == ("k", [])
    assert commands.candidates(ctx, "unbound s") == ("s", ["stats", "status"])
    assert commands.execute(ctx, "help config") == 0
    assert "config unbound|caching|appliance|diag-shell" in "".join(out)


def test_unbound_counters_are_parsed() -> None:
    text = "thread0.num.queries=7\ntotal.num.queries=12\nnum.answer.rcode.NOERROR=10\nbad\nx=y\n"
    stats = unbound_stats(text)
    assert stats == {"thread0.num.queries": 7, "total.num.queries": 12,
                     "num.answer.rcode.NOERROR": 10}  # fmt: skip


def test_the_monitor_asks_no_kea_on_a_caching_appliance(tmp_path: Path) -> None:
    root = StateRoot.at(tmp_path)
    profile.save(root, "caching")
    collector = Collector(root, sys_net=tmp_path)
    asked: list[str] = []
    collector.ask_pools = lambda: asked.append("pools") or []  # type: ignore[method-assign]
    figures = collector.collect()
    assert asked == []
    assert figures.dns.available is False  # no Unbound runs here
    assert figures.pools == []


def test_the_banner_names_a_caching_appliance(tmp_path: Path) -> None:
    root = StateRoot.at(tmp_path)
    root.etc.mkdir(parents=True)
    root.appliance_settings.write_text('{"hostname": "cache1", "address": "198.51.100.10/24"}')
    assert banner(root, None).startswith("Burrow appliance cache1\n")
    profile.save(root, "caching")
    text = banner(root, {"unbound": "RUNNING", "central": "RUNNING"})
    assert text.startswith("Burrow caching appliance cache1\n")
    assert "Programs: 2 of 2 RUNNING" in text
    assert "DHCP" not in text


def test_first_boot_leaves_dhcp_and_zone_seeds_out_on_a_caching_appliance(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root = StateRoot.at(tmp_path)
    seeds = {"seed_subnet4": {"subnet": "198.51.100.0/24"}, "address6": "2001:db8::2/64",
             "seed_zone": {"name": "a.example"}}  # fmt: skip
    fb = FirstBoot(source="nocloud", interface="eth0", interfaces=[], settings=seeds)
    assert firstboot.for_profile(root, fb) is fb
    profile.save(root, "caching")
    kept = firstboot.for_profile(root, fb)
    assert kept.settings == {"address6": "2001:db8::2/64"}
    assert "burrow.seed_subnet4 is for a DNS/DHCP appliance" in caplog.text


def test_a_sandbox_refuses_a_kept_root_of_the_other_profile(tmp_path: Path) -> None:
    network = ipaddress.IPv4Network("198.51.100.0/27")
    kept = Sandbox(name=f"{PREFIX}pz", network=network, root_dir=tmp_path)
    kept.root.make_dirs()
    kept.settings().save(kept.root.appliance_settings)  # a dns-dhcp appliance's root
    box = Sandbox(name=f"{PREFIX}pz", network=network, root_dir=tmp_path, profile="caching")
    with pytest.raises(SetupError, match="is a dns-dhcp appliance's, not caching"):
        box.start(network_ready=True)
    assert not profile.profile_file(box.root).exists()


@pytest.mark.parametrize(("source", "target"), [("dns-dhcp", "caching"), ("caching", "dns-dhcp")])
def test_a_restore_refuses_a_backup_of_the_other_profile(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    source: profile.Profile,
    target: profile.Profile,
) -> None:
    monkeypatch.setattr(collect_module, "network_capture", lambda root: {})
    state = StateRoot.at(tmp_path / "s")
    for directory in state.all_dirs():
        directory.mkdir(parents=True, exist_ok=True)
    state.appliance_settings.write_text('{"hostname": "s"}\n')
    if source == "caching":
        profile.save(state, "caching")
    (state.lib / "marker").write_text("from the backup\n")
    collector = BackupCollector(state)
    snapshot = collector.collect(kind="full", identity=IDENTITY, sequence=1)
    out = io.BytesIO()
    write_bundle(out, snapshot.root, collector.store.get)
    bundle = tmp_path / "backup.bin"
    bundle.write_bytes(out.getvalue())
    replacement = StateRoot.at(tmp_path / "r")
    profile.save(replacement, target)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    refused = subprocess.run(
        [sys.executable, "-m", "services.appliance.restore", "--root", str(replacement.root),
         str(bundle)],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    assert refused.returncode == 1, refused.stdout
    assert f"This backup is of a {source} appliance and this is a {target} appliance" in (
        refused.stderr
    )
    assert not (replacement.lib / "marker").exists()
    assert profile.load(replacement) == target
