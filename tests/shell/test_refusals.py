"""Escape and write attempts against the diag-shell: each is refused with one line, and the
appliance's state (etc/ and var/lib/ under its root) is the same before and after them all."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import tempfile
from pathlib import Path

import paramiko
import pytest

from services.common.paths import StateRoot
from tests.shell.client import SSH_OPTIONS, Diag, Terminal, state_hash, wait_log

pytestmark = pytest.mark.sandbox

#: A file that no attempt may create.
CANARY = "/tmp/burrow-diag-canary"

#: (what it tries, the command line sent with ``ssh diag@box LINE``)
EXEC_ATTEMPTS = [
    ("command list", "dig burrow.example; id"),
    ("pipe", "dig burrow.example | sh"),
    ("and-list", "uptime && id"),
    ("or-list", "uptime || id"),
    ("background", "ping 127.0.0.1 &"),
    ("redirect out", f"dig burrow.example > {CANARY}"),
    ("redirect in", "dig -f < names"),
    ("append", f"uptime >> {CANARY}"),
    ("substitution", "dig $(id -u).example"),
    ("backticks", "dig `id`.example"),
    ("variable", "dig ${HOME}"),
    ("glob star", "logs tail *"),
    ("glob question", "logs tail name?"),
    ("glob class", "logs tail [a-z]amed"),
    ("brace expansion", "logs tail {named,central}"),
    ("tilde", "logs tail ~root"),
    ("single quotes", "dig 'burrow.example'"),
    ("double quotes", 'dig "burrow.example"'),
    ("backslash", "dig burrow.example\\;id"),
    ("history expansion", "!!"),
    ("comment", "uptime #"),
    ("environment", "LD_PRELOAD=x dig burrow.example"),
    ("environment only", "PATH=."),
    ("unix shell", "bash"),
    ("sh -c", "sh -c id"),
    ("absolute program", "/bin/sh"),
    ("supervisorctl", "supervisorctl stop named"),
    ("kill", "kill 1"),
    ("dig batch file", "dig -f names"),
    ("dig key file", "dig -k rndc.key burrow.example"),
    ("dig key on the line", "dig -y hmac-sha256:k:c2VjcmV0 burrow.example"),
    ("dig bundled option", "dig -tAXFR burrow.example"),
    ("dig source address", "dig -b 127.0.0.1 burrow.example"),
    ("dig unknown plus", "dig +keyfile=x burrow.example"),
    ("dig huge timeout", "dig +time=100000 burrow.example"),
    ("drill write file", "drill -w out burrow.example"),
    ("drill key file", "drill -k key burrow.example"),
    ("drill read packet", "drill -i packet"),
    ("drill resolv.conf", "drill -c conf burrow.example"),
    ("host zone listing", "host -l burrow.example"),
    ("ping flood", "ping -f 127.0.0.1"),
    ("ping huge count", "ping -c 100000 127.0.0.1"),
    ("ping fast", "ping -i 0.001 127.0.0.1"),
    ("ping huge packets", "ping -s 65000 127.0.0.1"),
    ("ping option as host", "ping -c 1 -- -f"),
    ("tracepath many hops", "tracepath -m 255 127.0.0.1"),
    ("rndc stop", "rndc stop"),
    ("rndc reload", "rndc reload"),
    ("rndc flush", "rndc flush"),
    ("rndc freeze", "rndc freeze burrow.example"),
    ("rndc other config", "rndc -c rndc.conf status"),
    ("rndc other server", "rndc -s 127.0.0.1 status"),
    ("kea config-set", "kea config-set"),
    ("kea config-write", "kea config-write"),
    ("kea lease delete", "kea lease4-del 198.51.100.20"),
    ("services control", "services stop named"),
    ("path traversal log", "logs tail ../../../etc/shadow"),
    ("dot-dot log", "logs tail .."),
    ("path traversal config", "config ../../etc/passwd"),
    ("absolute path", "config /etc/shadow"),
    ("encoded traversal", "logs tail %2e%2e"),
    ("long line", "dig " + "a" * 5000),
    ("long word", "dig " + "a" * 300 + ".example"),
    ("escape sequence", "dig \x1b[2Jburrow.example"),
    ("newline", "uptime\nid"),
    ("carriage return", "uptime\rid"),
    ("bell", "uptime\x07"),
    ("cyrillic look-alike", "d\u0456g burrow.example"),
    ("fullwidth semicolon", "uptime\uff1bid"),
    ("right-to-left override", "uptime \u202e"),
    ("non-breaking space", "dig\u00a0burrow.example"),
    ("session word in exec", "exit"),
    ("empty exec", " "),
]


@pytest.fixture(scope="module")
def baseline(diag: Diag) -> dict[str, str]:
    return state_hash(diag.box.root)


@pytest.mark.parametrize(("what", "line"), EXEC_ATTEMPTS, ids=[a[0] for a in EXEC_ATTEMPTS])
def test_exec_attempt_is_refused_with_one_line(
    diag: Diag, baseline: dict[str, str], what: str, line: str
) -> None:
    result = diag.run(line)
    lines = result.out.strip().splitlines()
    assert result.rc == 2, f"{what}: rc {result.rc}: {result.out}{result.err}"
    assert len(lines) == 1 and lines[0].startswith("refused: "), f"{what}: {result.out!r}"
    assert not os.path.exists(CANARY)


def test_interactive_attempts_are_refused(diag: Diag, baseline: dict[str, str]) -> None:
    term = diag.shell()
    try:
        term.expect("diag> ")
        for line, reason in (
            ("uptime; id", "is not supported"),
            ("logs tail ../named", "file paths are not accepted"),
            ("rndc \u0455tatus", "non-ASCII character U+0455"),
            ("dig " + "x" * 2000, "longer than 1024"),
        ):
            out = term.command(line)
            refusals = [x for x in out.splitlines() if x.startswith("refused: ")]
            assert len(refusals) == 1 and reason in refusals[0], out
        # Control keys that a Unix terminal turns into signals or job control.
        for key, name in ((b"\x1a", "ctrl-z"), (b"\x1c", "ctrl-\\"), (b"\x00", "NUL")):
            term.send(key)
            term.expect(re.escape(f"refused: {name} is not accepted"))
        # The same keys while a command runs: refused, the command goes on, ctrl-c stops it.
        term.send(f"ping -c 20 -i 0.2 {diag.box.host_address}\r")
        term.expect("icmp_seq=1 ")
        term.send(b"\x1a")
        term.expect(r"refused: ctrl-z is not accepted \(ctrl-c stops the command\)")
        term.expect("icmp_seq=3 ")
        term.send(b"\x03")
        term.expect("diag> ")
        # Escape sequences that are not editing keys are dropped, never typed.
        term.send("\x1b[200~uptime\x1b[201~")
        term.send(b"\x07")
        term.expect("refused: ctrl-g is not accepted")
        assert "load average" in term.command("")
    finally:
        term.close()


def _ssh(
    diag: Diag, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["ssh", "-i", str(diag.key), *SSH_OPTIONS, *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        stdin=subprocess.DEVNULL,
        env=env,
    )


def test_sftp_is_refused(diag: Diag, baseline: dict[str, str]) -> None:
    result = subprocess.run(
        ["sftp", "-i", str(diag.key), *SSH_OPTIONS, "-b", "-", f"diag@{diag.box.address}"],
        input=f"put /etc/hostname {CANARY}\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "subsystem request failed" in result.stderr
    wait_log(diag.box, r"refused subsystem 'sftp'")


def test_scp_is_refused(diag: Diag, baseline: dict[str, str], tmp_path: Path) -> None:
    source = tmp_path / "payload"
    source.write_text("x\n")
    result = subprocess.run(
        ["scp", "-O", "-i", str(diag.key), *SSH_OPTIONS, str(source),
         f"diag@{diag.box.address}:{CANARY}"],
        capture_output=True, text=True, timeout=60, check=False, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert result.returncode != 0
    assert "refused" in result.stderr + result.stdout
    assert not os.path.exists(CANARY)


def test_stdio_forwarding_is_refused(diag: Diag, baseline: dict[str, str]) -> None:
    result = _ssh(diag, "-W", "127.0.0.1:953", f"diag@{diag.box.address}")
    assert result.returncode == 255
    assert "stdio forwarding failed" in result.stderr


def test_local_port_forwarding_is_refused(diag: Diag, baseline: dict[str, str]) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # LogLevel INFO (the first value given wins) so that ssh prints the refusal it gets.
    forward = f"127.0.0.1:{port}:127.0.0.1:953"
    target = f"diag@{diag.box.address}"
    term = Terminal(
        [
            "ssh",
            "-o",
            "LogLevel=INFO",
            "-i",
            str(diag.key),
            *SSH_OPTIONS,
            "-tt",
            "-L",
            forward,
            target,
        ]
    )
    try:
        term.expect("diag> ")
        with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
            conn.settimeout(5)
            assert conn.recv(100) == b""  # closed at once: nothing reaches rndc's port
        term.expect("open failed: administratively prohibited")
    finally:
        term.close()
    wait_log(diag.box, r"refused port forwarding to \('127.0.0.1', 953\)")


def test_remote_port_forwarding_is_refused(diag: Diag, baseline: dict[str, str]) -> None:
    result = _ssh(diag, "-o", "ExitOnForwardFailure=yes", "-R", "127.0.0.1:0:127.0.0.1:22",
                  f"diag@{diag.box.address}", "uptime")  # fmt: skip
    assert result.returncode == 255
    assert "remote port forwarding failed" in result.stderr


def test_x11_forwarding_is_refused(diag: Diag, baseline: dict[str, str]) -> None:
    env = {**os.environ, "DISPLAY": "127.0.0.1:0"}
    result = _ssh(diag, "-X", f"diag@{diag.box.address}", "uptime", env=env)
    assert "X11 forwarding request failed" in result.stderr
    assert "load average" in result.stdout


def test_agent_forwarding_is_refused(diag: Diag, baseline: dict[str, str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        sock = os.path.join(tmp, "agent")
        agent = subprocess.Popen(["ssh-agent", "-D", "-a", sock], stdout=subprocess.DEVNULL)
        try:
            env = {**os.environ, "SSH_AUTH_SOCK": sock}
            result = _ssh(diag, "-A", f"diag@{diag.box.address}", "uptime", env=env)
        finally:
            agent.send_signal(signal.SIGTERM)
            agent.wait(timeout=10)
    assert "load average" in result.stdout
    wait_log(diag.box, r"refused agent forwarding")


def test_environment_is_refused(diag: Diag, baseline: dict[str, str]) -> None:
    result = _ssh(diag, "-o", "SetEnv=BURROW_PROBE=1", f"diag@{diag.box.address}", "uptime")
    assert result.returncode == 0
    wait_log(diag.box, r"refused environment variable b'BURROW_PROBE'")


def test_other_users_are_refused(diag: Diag, baseline: dict[str, str]) -> None:
    for user in ("root", "nobody", "Diag"):
        result = diag.run("uptime", user=user)
        assert result.rc == 255
        assert "Permission denied" in result.err


def _paramiko_session(diag: Diag) -> tuple[socket.socket, paramiko.Transport]:
    sock = socket.create_connection((diag.box.address, 22), timeout=10)
    transport = paramiko.Transport(sock)
    transport.start_client(timeout=10)
    transport.auth_publickey("diag", paramiko.Ed25519Key.from_private_key_file(str(diag.key)))
    return sock, transport


def test_signal_requests_and_extra_channels_are_refused(
    diag: Diag, baseline: dict[str, str]
) -> None:
    """What OpenSSH's client cannot send: RFC 4254 "signal" requests and a second channel."""
    sock, transport = _paramiko_session(diag)
    try:
        channel = transport.open_session(timeout=10)
        channel.get_pty()
        channel.invoke_shell()
        channel.settimeout(10)
        channel.sendall(f"ping -c 4 -i 0.2 {diag.box.host_address}\r".encode())
        seen = b""
        while b"icmp_seq=1 " not in seen:
            seen += channel.recv(4096)
        for name in ("INT", "KILL", "TERM"):
            message = paramiko.Message()
            message.add_byte(bytes([paramiko.common.MSG_CHANNEL_REQUEST]))
            message.add_int(channel.remote_chanid)
            message.add_string("signal")
            message.add_boolean(False)
            message.add_string(name)
            transport._send_user_message(message)
        while b"4 packets transmitted, 4 received" not in seen:
            seen += channel.recv(4096)  # the ping ran to its end: no signal reached it
        with pytest.raises(paramiko.ChannelException, match=r"prohibited|Administratively"):
            transport.open_session(timeout=10)
        with pytest.raises(paramiko.SSHException):
            channel.exec_command("uptime")  # a second request on the shell's channel
    finally:
        transport.close()
        sock.close()
    wait_log(diag.box, r"refused a 'session' channel")


def test_state_is_unchanged_after_all_attempts(diag: Diag, baseline: dict[str, str]) -> None:
    """Runs last in this module: everything above changed nothing."""
    after = state_hash(diag.box.root)
    changed = sorted(k for k in set(baseline) | set(after) if baseline.get(k) != after.get(k))
    assert not changed, f"changed under etc/ or var/lib/: {changed}"
    assert len(baseline) > 20
    assert not os.path.exists(CANARY)


def test_state_hash_sees_a_change(diag: Diag, tmp_path: Path) -> None:
    """The hash would notice a change (so the test above can fail)."""
    root = tmp_path / "r"
    (root / "etc/burrow").mkdir(parents=True)
    (root / "var/lib/burrow").mkdir(parents=True)
    (root / "etc/burrow/a").write_text("1")
    before = state_hash(StateRoot.at(root))
    (root / "etc/burrow/a").write_text("2")
    assert state_hash(StateRoot.at(root)) != before
