"""Where a command's output goes, and how an allowed program is run: bounded in every way.

A program runs from an argv list (never a shell), with a fixed environment, no stdin, in a
process group of its own, optionally as an unprivileged user, with a time limit and an
output cap. Ctrl-C (or the session ending) kills the whole group at once.
"""

from __future__ import annotations

import codecs
import contextlib
import logging
import os
import pwd
import re
import select
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from services.common.paths import StateRoot

log = logging.getLogger(__name__)

#: The whole environment of every program the shell runs.
FIXED_ENV = {
    "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
    "LANG": "C.UTF-8",
    "LC_ALL": "C.UTF-8",
    "HOME": "/nonexistent",
}
DEFAULT_TIMEOUT = 30.0
DEFAULT_OUTPUT_CAP = 256 * 1024
#: What one command may print in all (views that read files; programs stop earlier).
COMMAND_OUTPUT_CAP = 2 * 1024 * 1024
#: Terminal control sequences in program output or logs must not reach the admin's terminal.
_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def sanitize(text: str) -> str:
    return _UNSAFE.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def unprivileged() -> tuple[int, int] | None:
    """The uid and gid of ``nobody``, under which network tools run."""
    try:
        entry = pwd.getpwnam("nobody")
    except KeyError:
        return None
    return entry.pw_uid, entry.pw_gid


class OutputCapped(Exception):  # noqa: N818 - a stop signal, not a failure
    """A command printed more than :data:`COMMAND_OUTPUT_CAP`; the rest is dropped."""


@dataclass
class Context:
    """What a command may use: the state root, an output sink and the interrupt check."""

    root: StateRoot
    write_raw: Callable[[str], None]
    interrupted: Callable[[], bool] = lambda: False
    session: str = "-"
    written: int = field(default=0)

    def write(self, text: str) -> None:
        room = COMMAND_OUTPUT_CAP - self.written
        self.written += len(text)
        self.write_raw(sanitize(text[: max(room, 0)]))
        if self.written > COMMAND_OUTPUT_CAP:
            raise OutputCapped

    def line(self, text: str = "") -> None:
        self.write(text + "\n")


def run_program(
    ctx: Context,
    argv: Sequence[str],
    *,
    timeout: float = DEFAULT_TIMEOUT,
    output_cap: int = DEFAULT_OUTPUT_CAP,
    as_nobody: bool = False,
) -> int:
    """Run ``argv`` and stream its output to ``ctx``; returns its exit status.

    The status is 124 when the time limit ended it, 130 when ctrl-c did, and the program's
    own status otherwise (a program stopped at the output cap ends with 141 here).
    """
    ids = unprivileged() if as_nobody else None
    proc = subprocess.Popen(
        list(argv),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=dict(FIXED_ENV),
        cwd="/",
        close_fds=True,
        start_new_session=True,
        user=ids[0] if ids else None,
        group=ids[1] if ids else None,
        extra_groups=[] if ids else None,
    )
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    deadline = time.monotonic() + timeout
    sent = 0
    status: int | None = None
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    try:
        while True:
            if ctx.interrupted():
                status = 130
                break
            if time.monotonic() > deadline:
                ctx.line(f"\n[stopped: the time limit of {timeout:g} s was reached]")
                status = 124
                break
            ready, _, _ = select.select([fd], [], [], 0.1)
            if not ready:
                continue
            chunk = os.read(fd, 16384)
            if not chunk:
                break
            room = output_cap - sent
            ctx.write(decoder.decode(chunk[:room]))
            sent += min(len(chunk), room)
            if sent >= output_cap:
                ctx.line(f"\n[stopped: output is capped at {output_cap} bytes]")
                status = 141
                break
        ctx.write(decoder.decode(b"", final=True))
        if status is None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(0.5, deadline - time.monotonic()))
    finally:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
    if status is None and proc.returncode < 0:
        status = 124  # killed above: it closed its output but did not exit in time
    return status if status is not None else proc.returncode
