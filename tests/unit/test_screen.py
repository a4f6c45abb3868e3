"""The screen of tty1: the banner burrow-banner wrote, and nothing heavy loaded to show it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from services.appliance import screen
from services.appliance.console import write_issue
from services.common.paths import StateRoot


def test_the_banner_comes_from_etc_issue_with_its_escapes_undone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "etc").mkdir()
    monkeypatch.setattr(subprocess, "run", lambda *_a, **_k: None)  # no agetty to reload here
    text = "Burrow appliance b1\n  Administrator password (generated): a\\b\n"
    write_issue(StateRoot.at(tmp_path), text)
    assert "a\\\\b" in (tmp_path / "etc/issue").read_text()  # agetty's escapes
    assert screen.banner_text(str(tmp_path)) == text + "\n"


def test_before_the_first_banner_the_screen_says_starting(tmp_path: Path) -> None:
    assert screen.banner_text(str(tmp_path)) == screen.STARTING
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/issue").write_text("Debian GNU/Linux 12 \\n \\l\n\n")
    assert screen.banner_text(str(tmp_path)) == screen.STARTING


def test_root_option() -> None:
    assert screen.root_from([]) == "/"
    assert screen.root_from(["--root", "/srv/a"]) == "/srv/a"
    with pytest.raises(SystemExit):
        screen.root_from(["--rot", "/"])


def test_waiting_for_a_key_loads_no_heavy_module() -> None:
    # The program waits for the appliance's whole life: what it imports stays resident.
    code = "import sys, services.appliance.screen; print(' '.join(sorted(sys.modules)))"
    loaded = set(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                check=True).stdout.split())  # fmt: skip
    assert not loaded & {"pydantic", "cryptography", "json", "subprocess", "argparse", "typing"}
