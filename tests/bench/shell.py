"""The diagnostic shell: time from TCP connect to the prompt, and 20 concurrent sessions.

- connect-to-prompt: a paramiko client opens the TCP connection (the clock starts), does the
  SSH handshake, logs in with a key, asks for a pty and a shell and reads until ``diag> ``.
  Median and maximum over 20 runs.
- ``ssh diag@box uptime`` with the real OpenSSH client, process start to exit, median.
- concurrency: 20 real ``ssh -tt`` sessions opened at once; each must reach its prompt, run a
  command and leave. Every session must be served (no legitimate user refused).
"""

from __future__ import annotations

import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

import paramiko

from services.sandbox.sandbox import Sandbox
from tests.bench.report import Figure, at_most, median
from tests.shell.client import Diag, authorize, make_key, wait_for_shell

RUNS = 20
SESSIONS = 20
PROMPT_TARGET = 0.5  # seconds


def connect_to_prompt(box: Sandbox, key: paramiko.PKey) -> float:
    start = time.perf_counter()
    sock = socket.create_connection((box.address, 22), timeout=10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as OpenSSH's client does
    transport = paramiko.Transport(sock)
    try:
        transport.start_client(timeout=10)
        transport.auth_publickey("diag", key)
        channel = transport.open_session(timeout=10)
        channel.get_pty()
        channel.invoke_shell()
        channel.settimeout(10)
        seen = b""
        while not seen.endswith(b"diag> "):
            chunk = channel.recv(4096)
            if not chunk:
                raise ConnectionError(f"no prompt: {seen!r}")
            seen += chunk
        took = time.perf_counter() - start
        channel.close()
        return took
    finally:
        transport.close()
        sock.close()


def concurrent_sessions(diag: Diag, count: int) -> tuple[int, float]:
    """Open ``count`` interactive sessions at once; how many were served, and how long until
    every one had its prompt."""
    start = time.perf_counter()
    terms = [diag.shell() for _ in range(count)]
    served = 0
    all_prompts = float("nan")
    try:
        ready = []
        for term in terms:
            try:
                term.expect("diag> ", timeout=60)
                ready.append(term)
            except AssertionError as exc:
                print(f"  session refused or stuck: {exc}", file=sys.stderr)
        all_prompts = time.perf_counter() - start
        for term in ready:
            term.send("uptime\r")
        for term in ready:
            try:
                term.expect("load average", timeout=60)
                term.expect("\ndiag> ", timeout=60)
                served += 1
            except AssertionError as exc:
                print(f"  session not served: {exc}", file=sys.stderr)
    finally:
        for term in terms:
            term.close()
    return served, all_prompts


def shell_bench(box: Sandbox) -> list[Figure]:
    with tempfile.TemporaryDirectory(prefix="bw-shell-bench-") as tmp:
        key_file = make_key(Path(tmp))
        authorize(box.root, key_file)
        diag = Diag(box, key_file)
        wait_for_shell(box, diag)
        key = paramiko.Ed25519Key.from_private_key_file(str(key_file))
        prompts = []
        for n in range(RUNS):
            prompts.append(connect_to_prompt(box, key))
            print(f"  connect-to-prompt {n + 1}/{RUNS}: {prompts[-1]:.3f} s", file=sys.stderr)
        execs = []
        for _ in range(RUNS):
            t0 = time.perf_counter()
            result = diag.run("uptime")
            if result.rc != 0:
                raise RuntimeError(f"ssh diag@box uptime failed: {result.err}")
            execs.append(time.perf_counter() - t0)
        served, all_prompts = concurrent_sessions(diag, SESSIONS)
    med = median(prompts)
    return [
        Figure("shell", "connect-to-prompt median", med, "s", f"<= {PROMPT_TARGET} s",
               at_most(med, PROMPT_TARGET)),
        Figure("shell", "connect-to-prompt max", max(prompts), "s"),
        Figure("shell", "ssh exec 'uptime' median", statistics.median(execs), "s"),
        Figure("shell", f"{SESSIONS} concurrent sessions served", served, "sessions",
               f"= {SESSIONS}", "ok" if served == SESSIONS else "MISSED"),
        Figure("shell", f"{SESSIONS} concurrent sessions: all prompts after", all_prompts, "s"),
    ]  # fmt: skip
