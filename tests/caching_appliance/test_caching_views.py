"""What a caching appliance shows of itself: the diagnostic shell (over real ssh) and the
monitor's figures, with Unbound where a DNS/DHCP appliance has named and Kea."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from services.common.files import read_json
from services.sandbox.sandbox import Sandbox
from tests.harness.wait import wait_for
from tests.shell.client import Diag, authorize, make_key, wait_for_shell

pytestmark = pytest.mark.sandbox


@pytest.fixture(scope="module")
def diag(caching_sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Diag]:
    key = make_key(tmp_path_factory.mktemp("caching-diag"))
    settings = caching_sandbox.root.etc / "diag-shell.json"
    before = settings.read_bytes() if settings.exists() else None
    authorize(caching_sandbox.root, key)
    client = Diag(caching_sandbox, key)
    try:
        wait_for_shell(caching_sandbox, client)
        yield client
    finally:
        if before is None:
            settings.unlink(missing_ok=True)
        else:
            settings.write_bytes(before)


def _run(diag: Diag, command: str, rc: int, *expected: str) -> str:
    result = diag.run(command)
    assert result.rc == rc, f"{command}: rc {result.rc}: {result.out}{result.err}"
    for text in expected:
        assert text in result.out, f"{command}: {text!r} missing from:\n{result.out}"
    return result.out


def test_the_shell_shows_unbound(diag: Diag) -> None:
    _run(diag, "unbound status", 0, "is running")
    diag.box.dns_query("localhost.", "A")
    out = _run(diag, "unbound stats", 0, "total.num.queries=", "num.answer.rcode.NOERROR=")
    assert "thread0." not in out  # the totals only
    _run(diag, "unbound reload", 2, "refused", "only 'unbound status' and 'unbound stats'")
    _run(diag, "config unbound", 0, "server:", "remote-control:")
    help_text = _run(diag, "help", 0, "caching appliance", "unbound")
    assert "\n  kea " not in help_text and "\n  rndc " not in help_text


@pytest.mark.parametrize(
    ("command", "reason"),
    [
        ("kea status", "no DHCP server"),
        ("rndc status", "not named"),
        ("dnssec a.example", "signs no zones"),
    ],
)
def test_the_shell_refuses_named_and_kea_commands(diag: Diag, command: str, reason: str) -> None:
    _run(diag, command, 2, "is not on this appliance", reason)


def _figures(root: Path) -> dict[str, Any]:
    return dict(read_json(root / "run/burrow/figures.json"))


def test_the_monitor_reports_unbound_and_no_dhcp(caching_sandbox: Sandbox) -> None:
    box = caching_sandbox
    for _ in range(3):
        box.dns_query("localhost.", "A")

    def counted() -> dict[str, Any] | None:
        figures = _figures(box.root.root)
        dns = figures["dns"]
        return figures if dns["available"] and dns["queries"] >= 3 else None

    figures = wait_for(counted, timeout=30, interval=0.5, what="Unbound's counters")
    assert figures["dns"]["success"] >= 3
    assert figures["pools"] == []
    programs = {p["name"]: p["state"] for p in figures["programs"]}
    assert programs["unbound"] == "RUNNING" and "named" not in programs
