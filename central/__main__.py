"""Run Central: ``python -m central --root ROOT [--workers N]``.

One worker (the default) is one process. With ``--workers N`` (or ``BURROW_CENTRAL_WORKERS``)
this process starts N worker processes (forked, so they share the imported code's memory)
that each listen on the port (SO_REUSEPORT: the kernel spreads connections over them) and
waits for them. The first worker starts alone: it migrates the database, makes the first
administrator, prepares the local agents and runs the background work (pollers, sync,
backup detection); the others start once it serves and run no background work, so each
poller runs once, and share the count of failed logins through a file in the run
directory. SIGTERM and SIGINT are passed on to every worker; when one worker ends
unasked, the others are stopped and Central exits for supervisord to start it again.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable, MutableMapping
from types import FrameType
from typing import Any

from central.app import create_app
from central.auth.service import LoginThrottle
from central.core.config import PORT, CentralConfig
from central.core.startup import cpu_seconds, process_age
from services.common.backup.files import central_hold_file
from services.common.paths import StateRoot
from services.common.serve import Listener, bind, serve

log = logging.getLogger("central")

#: The interpreter's thread switch interval in Central's processes (see ``main``).
SWITCH_INTERVAL = 0.0005

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class _ReadySignal:
    """The application, telling a pipe when its start-up (the lifespan) has completed."""

    def __init__(self, app: Any, ready_fd: int) -> None:
        self.app = app
        self.ready_fd = ready_fd

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return

        async def tell(message: Message) -> None:
            await send(message)
            if message["type"] == "lifespan.startup.complete" and self.ready_fd >= 0:
                os.write(self.ready_fd, b"ready")
                os.close(self.ready_fd)
                self.ready_fd = -1

        await self.app(scope, receive, tell)


def _worker(config: CentralConfig, *, first: bool, reuse_port: bool, ready_fd: int) -> None:
    """Serve in this (forked) process until told to stop; start-up and background if first."""
    app = create_app(config, background=first)
    # Failed logins are counted across the workers, whichever one a client reaches.
    app.state.throttle = LoginThrottle(config.root.run / "central-login-failures.json")
    listener = Listener(
        _ReadySignal(app, ready_fd) if ready_fd >= 0 else app,
        config.port,
        host=config.host,
        tls=config.tls,
        sock=bind(config.host, config.port, reuse_port=reuse_port),
    )
    serve(listener)


def _fork(config: CentralConfig, *, first: bool, ready_fd: int = -1) -> int:
    pid = os.fork()
    if pid:
        return pid
    code = 0  # the worker: never returns to the caller
    try:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        _worker(config, first=first, reuse_port=True, ready_fd=ready_fd)
    except BaseException:
        log.exception("worker %d failed", os.getpid())
        code = 1
    finally:
        logging.shutdown()
        os._exit(code)


def serve_workers(config: CentralConfig, workers: int) -> int:
    """Run ``workers`` worker processes (see the module's docstring); their exit code."""
    children: set[int] = set()
    stopping = False

    def stop(signum: int, _frame: FrameType | None = None) -> None:
        nonlocal stopping
        stopping = True
        for pid in children:
            os.kill(pid, signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    read_fd, write_fd = os.pipe()
    children.add(_fork(config, first=True, ready_fd=write_fd))
    os.close(write_fd)
    ready = os.read(read_fd, 16)  # b"" when the first worker ended before it served
    os.close(read_fd)
    if ready and not stopping:
        for _ in range(workers - 1):
            children.add(_fork(config, first=False))
        log.info("central serves with %d worker processes", workers)
    code = 0
    while children:
        pid, status = os.wait()
        children.discard(pid)
        if not stopping:
            code = os.waitstatus_to_exitcode(status) or 1
            log.error("worker %d ended (exit code %d): stopping central", pid, code)
            stop(signal.SIGTERM)
    return code


#: How often a held Central looks whether it is released (see ``wait_while_held``).
HOLD_POLL = 0.02


def wait_while_held(root: StateRoot) -> float:
    """Wait while a restore holds this Central (``central_hold_file``: a restore started it
    early, to load its code while the restore writes its files); the seconds waited.

    Nothing of the state root is read before: the settings, the database and the certificate
    are the restored ones. The hold ends when the file is gone or at the time it holds.
    """
    hold = central_hold_file(root)
    try:
        until = float(hold.read_text().strip())
    except (OSError, ValueError):
        return 0.0
    began = time.monotonic()
    log.info("a restore is under way: waiting until it has written Central's files")
    while hold.exists() and time.time() < until:
        time.sleep(HOLD_POLL)
    waited = time.monotonic() - began
    log.info("released after %.2f s", waited)
    return waited


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="central")
    parser.add_argument("--root", default=os.environ.get("BURROW_ROOT", "/"))
    parser.add_argument("--port", type=int, default=PORT)
    parser.add_argument("--host", default="0.0.0.0")
    parser.add_argument(
        "--workers",
        type=int,
        default=int(os.environ.get("BURROW_CENTRAL_WORKERS", "1")),
        help="worker processes (default 1, or BURROW_CENTRAL_WORKERS)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    log.info(
        "code loaded %.2f s after the process started (%.2f s of CPU time)",
        process_age(), cpu_seconds(),
    )  # fmt: skip
    wait_while_held(StateRoot.at(args.root))
    config = CentralConfig.from_root(StateRoot.at(args.root), port=args.port, host=args.host)
    # A change to one zone waits on I/O a dozen times (the database, the agent) while another
    # request may compute for a while (a large zone's import stored): each wait ends with a
    # hand-over of the interpreter, which takes up to one switch interval (5 ms by default).
    sys.setswitchinterval(SWITCH_INTERVAL)
    if args.workers > 1:
        return serve_workers(config, args.workers)
    serve(Listener(create_app(config), config.port, host=config.host, tls=config.tls))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
