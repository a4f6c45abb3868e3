"""The diagnostic shell's and the monitor's choices by profile, without daemons."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.common import profile
from services.common.paths import StateRoot
from services.monitor.collect import Collector, unbound_stats
from services.shell import commands
from services.shell.runner import Context


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
