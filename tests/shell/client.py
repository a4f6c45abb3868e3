"""The real OpenSSH client against a sandbox's diag-shell: ``ssh`` for one command, ``ssh -tt``
driven over pipes for interactive sessions, a key made here and put in the settings file."""

from __future__ import annotations

import hashlib
import os
import re
import select
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from services.common.paths import StateRoot
from services.sandbox.sandbox import Sandbox
from services.shell.settings import DiagShellSettings
from tests.harness.wait import wait_for

SSH_OPTIONS = [
    "-o", "StrictHostKeyChecking=no",
    "-o", "UserKnownHostsFile=/dev/null",
    "-o", "LogLevel=ERROR",
    "-o", "BatchMode=yes",
    "-o", "IdentitiesOnly=yes",
    "-o", "ConnectTimeout=10",
    "-F", "/dev/null",
]  # fmt: skip


@dataclass
class Result:
    """What one ``ssh diag@box COMMAND`` gave."""

    rc: int
    out: str
    err: str


def make_key(directory: Path, name: str = "id_diag") -> Path:
    key = directory / name
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "test", "-f", str(key)],
        check=True,
        stdin=subprocess.DEVNULL,
    )
    return key


def authorize(root: StateRoot, key: Path, **extra: object) -> None:
    """Write the settings file with this key (and any other settings) as the only credential."""
    data: dict[str, object] = {"authorized_keys": [key.with_suffix(".pub").read_text().strip()]}
    data.update(extra)
    DiagShellSettings.model_validate(data).save(root)


@dataclass
class Diag:
    """The real OpenSSH client, logging in as ``diag`` to one sandbox with one key."""

    box: Sandbox
    key: Path
    netns: str | None = None

    def argv(self, *extra: str, user: str = "diag", tool: str = "ssh") -> list[str]:
        prefix = ["ip", "netns", "exec", self.netns] if self.netns else []
        target = f"{user}@{self.box.address}"
        return [*prefix, tool, "-i", str(self.key), *SSH_OPTIONS, *extra, target]

    def run(self, command: str, *extra: str, timeout: float = 60.0, user: str = "diag") -> Result:
        proc = subprocess.run(
            [*self.argv(*extra, user=user), command] if command else self.argv(*extra),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
        return Result(
            proc.returncode,
            proc.stdout.decode("utf-8", "replace"),
            proc.stderr.decode("utf-8", "replace"),
        )

    def shell(self, *extra: str) -> Terminal:
        return Terminal(self.argv("-tt", "-e", "none", *extra))


@dataclass
class Terminal:
    """An interactive ``ssh -tt`` session driven over pipes."""

    argv: list[str]
    output: bytearray = field(default_factory=bytearray)
    mark: int = 0

    def __post_init__(self) -> None:
        self.proc = subprocess.Popen(
            self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        self.lock = threading.Lock()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        while True:
            ready, _, _ = select.select([fd], [], [], 0.5)
            if not ready:
                if self.proc.poll() is not None:
                    return
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                return
            with self.lock:
                self.output.extend(chunk)

    def text(self, since: int = 0) -> str:
        with self.lock:
            return bytes(self.output[since:]).decode("utf-8", "replace")

    def send(self, data: str | bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(data.encode() if isinstance(data, str) else data)
        self.proc.stdin.flush()

    def expect(self, pattern: str, timeout: float = 20.0) -> str:
        """Wait until ``pattern`` appears after the mark; return the text up to and with it."""
        regex = re.compile(pattern)

        def found() -> re.Match[str] | None:
            return regex.search(self.text(self.mark))

        match = wait_for(found, timeout=timeout, interval=0.01, what=f"{pattern!r} in {self}")
        text = self.text(self.mark)
        self.mark += len(text[: match.end()].encode())
        return text[: match.end()]

    def command(self, line: str, timeout: float = 30.0) -> str:
        """Type ``line`` and Enter; the output up to the next prompt."""
        self.send(line + "\r")
        return self.expect(r"\ndiag> ", timeout=timeout)

    def close(self) -> int:
        if self.proc.poll() is None:
            with_stdin = self.proc.stdin
            if with_stdin is not None and not with_stdin.closed:
                try:
                    with_stdin.write(b"\x04")
                    with_stdin.flush()
                except BrokenPipeError:
                    pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdin is not None:
            try:
                self.proc.stdin.close()
            except BrokenPipeError:
                pass
        self.reader.join(timeout=5)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        return self.proc.returncode

    def __repr__(self) -> str:
        return f"Terminal(output so far: {self.text()[-400:]!r})"


#: Files that a daemon rewrites on its own while a test runs: Central records every agent's
#: health (every 30 s) and its syncs in its database. The shell has no way to them (it runs
#: no writer and the DNS and network tools run as nobody); counting them would only measure
#: Central's clock. Central's change counter for backups (``backup/changed``) grows with every
#: change Central commits, a sync's external change among them, so it is as live as the database;
#: the agents' trigger (``backup/daemons-changed``) likewise after every change they apply.
LIVE_FILES = (
    "var/lib/burrow/central.db",
    "var/lib/burrow/backup/changed",
    "var/lib/burrow/backup/daemons-changed",
)


def state_hash(root: StateRoot) -> dict[str, str]:
    """Content and mode of every file under etc/ and var/lib/ of the root (logs and run/ are
    elsewhere), but for Central's live database (LIVE_FILES and its -wal/-shm files)."""
    found: dict[str, str] = {}
    for top in ("etc", "var/lib"):
        base = root.root / top
        for path in sorted(base.rglob("*")):
            rel = str(path.relative_to(root.root))
            if rel.startswith(LIVE_FILES):
                continue
            if path.is_symlink():
                found[rel] = "link:" + os.readlink(path)
            elif path.is_file():
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
                found[rel] = f"{path.stat().st_mode:o}:{digest}"
            elif path.is_dir():
                found[rel] = f"dir:{path.stat().st_mode:o}"
    return found


def wait_for_shell(box: Sandbox, diag: Diag) -> None:
    """The diag-shell is up once a login gets a prompt answer."""
    wait_for(lambda: diag.run("uptime", timeout=15).rc == 0, timeout=30, what="diag-shell login")


def log_text(box: Sandbox) -> str:
    return (box.root.logs / "diag-shell.log").read_text(errors="replace")


def wait_log(box: Sandbox, pattern: str, timeout: float = 10.0) -> str:
    regex = re.compile(pattern)
    return wait_for(
        lambda: (m := regex.search(log_text(box))) and m.group(0),
        timeout=timeout,
        what=f"{pattern!r} in diag-shell.log",
    )


def elapsed(start: float) -> float:
    return time.monotonic() - start
