"""Unit tests of the shell's parts: line checks, option lists, the editor, the throttle,
password hashes, masking and the bounded runner."""

from __future__ import annotations

import json
import logging
import subprocess
from pathlib import Path

import pytest

from services.common.paths import StateRoot
from services.shell import commands, syntax
from services.shell.editor import LineEditor, common_prefix
from services.shell.kea import mask
from services.shell.runner import Context, run_program
from services.shell.server import Admission, LoginThrottle, quiet_paramiko
from services.shell.settings import DiagShellSettings, hash_password, verify_password
from services.shell.syntax import Refused, split_line
from services.shell.views import mask_text


def _ctx(tmp_path: Path, interrupted: bool = False) -> tuple[Context, list[str]]:
    out: list[str] = []
    return Context(StateRoot.at(tmp_path), out.append, lambda: interrupted, "t"), out


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("a | b", "not a Unix shell"),
        ("a$b", "not a Unix shell"),
        ("x\x1by", "control character 0x1B"),
        ("d\u0456g", r"non-ASCII character U\+0456"),
        ("logs tail a/b", "file paths"),
        ("X=1 dig", "environment"),
        ("a" * 1025, "longer than 1024"),
        ("dig " + "b" * 256, "longer than 255"),
    ],
)
def test_split_line_refuses(line: str, reason: str) -> None:
    with pytest.raises(Refused, match=reason):
        split_line(line)


def test_split_line_words() -> None:
    assert split_line("  dig\t@127.0.0.1  +short a.example  ") == [
        "dig",
        "@127.0.0.1",
        "+short",
        "a.example",
    ]


def test_validators() -> None:
    assert syntax.domain("a-b.example.") == "a-b.example."
    assert syntax.host("2001:db8::1") == "2001:db8::1"
    for bad in ("-f", "a..b", "a_" * 200):
        with pytest.raises(Refused):
            syntax.host(bad)
    with pytest.raises(Refused):
        syntax.integer("1e3", 1, 10, "n")
    assert syntax.decimal("0.25", 0.2, 10, "i") == 0.25
    assert syntax.mac("02:AA:00:00:00:01") == "02:aa:00:00:00:01"


@pytest.mark.parametrize(
    "line",
    ["dig -f x", "dig +time=99 a.example", "dig +nofoo a", "drill -w f a", "ping -c 21 a",
     "ping -i 0.1 a", "rndc stop", "rndc -c x status", "kea config-set", "logs tail nope",
     "config shadow", "backup now", "services stop x", "nosuch",
     # Zone transfers, however spelled: the shell never reads a zone whole.
     "dig a.example AXFR", "dig a.example axfr", "dig -t AXFR a.example", "dig a.example ixfr=1",
     "dig a.example TYPE252", "dig a.example type0251", "drill a.example AXFR",
     "host -t AXFR a.example"],
)  # fmt: skip
def test_execute_refuses_without_running(tmp_path: Path, line: str) -> None:
    ctx, out = _ctx(tmp_path)
    assert commands.execute(ctx, line) == commands.REFUSED
    assert len("".join(out).strip().splitlines()) == 1
    assert "".join(out).startswith("refused: ")


def test_completion(tmp_path: Path) -> None:
    ctx, _ = _ctx(tmp_path)
    assert commands.candidates(ctx, "rn") == ("rn", ["rndc"])
    assert commands.candidates(ctx, "rndc ") == ("", ["status", "zonestatus"])
    assert commands.candidates(ctx, "kea config d") == ("d", ["dhcp4", "dhcp6"])
    assert common_prefix(["ping", "ping6"]) == "ping"


def _editor() -> tuple[LineEditor, list[str]]:
    shown: list[str] = []
    editor = LineEditor(shown.append, lambda before: ("up", ["uptime"]))
    editor.start()
    return editor, shown


def _events(editor: LineEditor, data: bytes) -> list[tuple[str, str]]:
    editor.feed(data)
    found = []
    while (event := editor.next_event()) is not None:
        found.append((event.kind, event.text))
    return found


def test_editor_lines_history_and_keys() -> None:
    editor, _ = _editor()
    assert _events(editor, b"abc\x7fd\r\n") == [("line", "abd")]
    assert _events(editor, b"xy\x1b[D\x1b[Dz\r") == [("line", "zxy")]
    assert _events(editor, b"\x1b[A\x1b[A\r") == [("line", "abd")]
    assert _events(editor, b"junk\x03") == [("cancel", "")]
    assert _events(editor, b"up\t\r") == [("line", "uptime ")]
    assert _events(editor, b"one two\x17three\r") == [("line", "one three")]
    assert _events(editor, b"\x04") == [("eof", "")]


def test_editor_refuses_control_keys_and_long_lines() -> None:
    editor, shown = _editor()
    assert _events(editor, b"a\x1ab\r") == [("line", "ab")]
    assert any("refused: ctrl-z" in s for s in shown)
    assert _events(editor, b"x" * 2000 + b"\r") == [("overflow", "x" * 1024)]
    # Multi-byte characters split across reads are put together.
    editor.feed("d\u0456".encode()[:2])
    assert _events(editor, "d\u0456".encode()[2:] + b"\r") == [("line", "d\u0456")]


def test_throttle_locks_after_limit_and_forgets() -> None:
    now = [0.0]
    throttle = LoginThrottle(limit=3, window=10, lockout=30, clock=lambda: now[0])
    for _ in range(2):
        throttle.failed("a")
    throttle.succeeded("a")
    throttle.failed("a")
    assert not throttle.locked("a")
    throttle.failed("a")
    throttle.failed("a")
    assert throttle.locked("a") and not throttle.locked("b")
    now[0] = 31
    assert not throttle.locked("a")


def test_tries_during_a_lockout_do_not_extend_it() -> None:
    now = [0.0]
    throttle = LoginThrottle(limit=3, window=10, lockout=30, clock=lambda: now[0])
    for _ in range(3):
        throttle.failed("a")
    assert throttle.locked("a")
    for moment in (5.0, 10.0, 20.0, 29.0):  # many tries while locked out
        now[0] = moment
        for _ in range(5):
            throttle.failed("a")
        assert throttle.locked("a")
    now[0] = 30.0  # 30 s after the first refusal, as promised
    assert not throttle.locked("a")
    throttle.failed("a")
    assert not throttle.locked("a")  # a fresh count after the lockout


def test_admission_limits_per_address_and_in_all() -> None:
    places = Admission(total=5, per_address=2)
    assert places.enter("a") is None and places.enter("a") is None
    assert "2 connections from it" in str(places.enter("a"))
    for _ in range(3):
        assert places.enter("b" if places.by_address.get("b", 0) < 2 else "c") is None
    assert "5 connections" in str(places.enter("d"))
    places.leave("a")
    assert places.enter("d") is None


def test_paramiko_tracebacks_are_one_info_line(caplog: pytest.LogCaptureFixture) -> None:
    quiet_paramiko()
    logger = logging.getLogger("paramiko.transport")
    with caplog.at_level(logging.DEBUG, logger="paramiko.transport"):
        logger.error("Exception (server): Error reading SSH protocol banner")
        logger.error("Traceback (most recent call last):")
        logger.error('  File "transport.py", line 2369, in _check_banner')
        logger.error("EOFError")
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("INFO", "Exception (server): Error reading SSH protocol banner")
    ]


def test_password_hash(tmp_path: Path) -> None:
    stored = hash_password("a long enough secret")
    assert stored.startswith("scrypt$16384$8$1$")
    assert verify_password(stored, "a long enough secret")
    assert not verify_password(stored, "a long enough secreT")
    with pytest.raises(Exception, match="at least 12"):
        hash_password("short")
    root = StateRoot.at(tmp_path)
    (tmp_path / "etc/burrow").mkdir(parents=True)
    (tmp_path / "etc/burrow/diag-shell.json").write_text(json.dumps({"password": "plain"}))
    with pytest.raises(ValueError, match="scrypt"):
        DiagShellSettings.load(root)


def test_masking() -> None:
    config = {"Control-agent": {"authentication": {"clients": [{"password": "s3", "user": "b"}]}}}
    assert "s3" not in json.dumps(mask(config))
    text = '{ "password": "s3cr\\"et", "user": "burrow" }\nkey "k" { secret "abc=="; };'
    masked = mask_text(text)
    assert "s3cr" not in masked and "abc==" not in masked and '"burrow"' in masked


def test_runner_bounds(tmp_path: Path) -> None:
    ctx, out = _ctx(tmp_path)
    assert run_program(ctx, ["env"]) == 0
    names = sorted(line.split("=")[0] for line in "".join(out).split())
    assert names == ["HOME", "LANG", "LC_ALL", "PATH"]
    ctx, out = _ctx(tmp_path)
    assert run_program(ctx, ["sleep", "5"], timeout=0.3) == 124
    assert "time limit" in "".join(out)
    ctx, out = _ctx(tmp_path)
    assert run_program(ctx, ["yes"], output_cap=10000) == 141
    assert len("".join(out)) < 10200
    ctx, out = _ctx(tmp_path, interrupted=True)
    assert run_program(ctx, ["sleep", "5"]) == 130
    ctx, out = _ctx(tmp_path)
    assert run_program(ctx, ["id", "-u"], as_nobody=True) == 0
    assert (
        "".join(out).strip() == subprocess.check_output(["id", "-u", "nobody"], text=True).strip()
    )
    ctx, out = _ctx(tmp_path)
    run_program(ctx, ["printf", "a\\033[2Jb"])
    assert "".join(out) == "a\\x1b[2Jb"


def test_fleet_shows_the_managing_central_and_never_the_secrets(tmp_path: Path) -> None:
    from services.shell.views import fleet

    ctx, out = _ctx(tmp_path)
    assert fleet(ctx, []) == 0
    assert out == ["fleet: none (this appliance's Central manages its agents)\n"]
    membership = tmp_path / "var/lib/burrow/pki/fleet/membership.json"
    membership.parent.mkdir(parents=True)
    membership.write_text(json.dumps({
        "address": "198.51.100.2", "port": 1231, "ca_fingerprint": "AB:CD", "member_id": 3,
        "server_ids": {"dns": 7}, "joined_at": "2026-12-06T17:00:00+00:00",
        "secret": "bwm_secret", "release_hash": "0" * 64,
    }))  # fmt: skip
    out.clear()
    assert fleet(ctx, []) == 0
    lines = [line.rstrip("\n") for line in out]
    assert lines[0].startswith("fleet: managed by the Central at 198.51.100.2:1231")
    assert "member_id: 3" in lines and "  dns: 7" in lines
    assert not any("secret" in line or "0" * 64 in line for line in lines)
