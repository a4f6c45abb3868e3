"""Who gets in: keys and passwords from the settings file (read at every login, no restart),
nobody without credentials, failed logins rate-limited per address, idle sessions closed."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.common.proc import run
from services.shell.credentials import set_credentials
from services.shell.settings import settings_path
from tests.harness.wait import wait_for
from tests.shell.client import SSH_OPTIONS, Diag, authorize, make_key, wait_log

pytestmark = pytest.mark.sandbox
PASSWORD = "correct horse battery staple"


@pytest.fixture
def restore(diag: Diag) -> Iterator[Diag]:
    """Put the session's settings back after a test that changes them."""
    pid = diag.box.supervisor().pid("diag-shell")
    yield diag
    authorize(diag.box.root, diag.key)
    # Every change in these tests applied without restarting the program.
    assert diag.box.supervisor().pid("diag-shell") == pid


def password_login(
    diag: Diag, password: str, tmp_path: Path, netns: str | None = None
) -> subprocess.CompletedProcess[str]:
    askpass = tmp_path / "askpass"
    askpass.write_text(f"#!/bin/sh\nprintf '%s\\n' '{password}'\n")
    askpass.chmod(0o700)
    env = {**os.environ, "SSH_ASKPASS": str(askpass), "SSH_ASKPASS_REQUIRE": "force"}
    prefix = ["ip", "netns", "exec", netns] if netns else []
    argv = [*prefix, "ssh", "-o", "BatchMode=no", "-o", "PubkeyAuthentication=no",
            "-o", "PreferredAuthentications=password", "-o", "NumberOfPasswordPrompts=1",
            *SSH_OPTIONS, f"diag@{diag.box.address}", "uptime"]  # fmt: skip
    return subprocess.run(
        argv,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def test_no_credentials_refuses_every_login(restore: Diag) -> None:
    diag = restore
    settings_path(diag.box.root).unlink()
    result = diag.run("uptime")
    assert result.rc == 255 and "Permission denied" in result.err
    # An unreadable settings file refuses everything too, and says so in the log.
    settings_path(diag.box.root).write_text("{not json")
    result = diag.run("uptime")
    assert result.rc == 255 and "Permission denied" in result.err
    wait_log(diag.box, r"diag-shell.json is unusable, refusing every login")
    # Written again: the next login works, without a restart.
    authorize(diag.box.root, diag.key)
    assert diag.run("uptime").rc == 0


def test_a_key_not_in_the_file_is_refused(restore: Diag, tmp_path: Path) -> None:
    other = Diag(restore.box, make_key(tmp_path, "other"))
    result = other.run("uptime")
    assert result.rc == 255 and "Permission denied" in result.err
    authorize(restore.box.root, other.key)  # replace the key: the new one works at once
    assert other.run("uptime").rc == 0
    assert restore.run("uptime").rc == 255


def test_password_login(restore: Diag, tmp_path: Path) -> None:
    diag = restore
    set_credentials(diag.box.root, password=PASSWORD)
    assert '"password": "scrypt$' in settings_path(diag.box.root).read_text()
    ok = password_login(diag, PASSWORD, tmp_path)
    assert ok.returncode == 0 and "load average" in ok.stdout, ok.stderr
    bad = password_login(diag, "wrong password here", tmp_path)
    assert bad.returncode == 255 and "Permission denied" in bad.stderr
    wait_log(diag.box, r"failed password login as 'diag'")
    wait_log(diag.box, r"diag logged in from \S+ by password")


def test_failed_logins_are_rate_limited_per_address(restore: Diag, tmp_path: Path) -> None:
    diag = restore
    box = diag.box
    set_credentials(box.root, password=PASSWORD)
    client = box.add_client()
    address = str(box.network[25])
    run(["ip", "-n", client.ns, "addr", "add", f"{address}/{box.network.prefixlen}",
         "dev", "eth0"])  # fmt: skip
    for _ in range(5):
        assert password_login(diag, "not the password", tmp_path, client.ns).returncode == 255
    wait_log(box, rf"5 failed logins from {address}: refusing it")
    # Locked: even the right password from that address is refused now ...
    locked = password_login(diag, PASSWORD, tmp_path, client.ns)
    assert locked.returncode == 255 and "Permission denied" in locked.stderr
    wait_log(box, rf"login from {address} refused: too many failures")
    # ... while other addresses still get in.
    assert password_login(diag, PASSWORD, tmp_path).returncode == 0
    assert diag.run("uptime").rc == 0


def test_idle_session_is_closed(restore: Diag) -> None:
    diag = restore
    authorize(diag.box.root, diag.key, idle_timeout=5)
    term = diag.shell()
    try:
        term.expect("diag> ")
        term.expect(r"idle for 5 s: closing the session", timeout=15)
        assert term.proc.wait(timeout=10) == 0
    finally:
        term.close()


def _host_key(diag: Diag) -> str:
    out = subprocess.run(
        ["ssh-keyscan", "-T", "5", "-t", "ed25519", diag.box.address],
        capture_output=True, text=True, timeout=30, check=True,
    ).stdout  # fmt: skip
    return out.split()[-1]


def test_host_key_is_kept_across_restarts(diag: Diag) -> None:
    before = _host_key(diag)
    key_file = diag.box.root.lib / "ssh_host_ed25519_key"
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    view = diag.box.supervisor()
    old_pid = view.pid("diag-shell")
    events = diag.box.root.service_events

    def recorded() -> int:
        return len(events.read_text().splitlines()) if events.exists() else 0

    seen = recorded()
    os.kill(old_pid, signal.SIGKILL)  # supervisord starts it again at once
    wait_for(lambda: recorded() > seen, timeout=30)  # supervisord has written it down
    wait_for(lambda: view.states()["diag-shell"] == "RUNNING" and view.pid("diag-shell") != old_pid,
             timeout=30)  # fmt: skip
    wait_for(lambda: diag.run("uptime", timeout=15).rc == 0, timeout=30)
    assert _host_key(diag) == before
