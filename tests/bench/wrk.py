"""HTTP load from ``wrk`` (Debian's package), a compiled generator, so the client is not the limit.

``wrk`` keeps its connections alive, sends the next request on a connection as soon as the
answer to the previous one is in, and reports latency percentiles; a Lua ``done`` hook
prints them as one JSON line. Alongside, the CPU time of the processes under test (a process
and its descendants, read from ``/proc``), of ``wrk`` itself and of the whole machine is
measured, so a figure comes with what was busy while it was made.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")
MARK = "wrk-result "

#: Runs when wrk is done: the totals and the percentiles as one JSON line (times in µs).
DONE_HOOK = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '%s{"requests": %d, "duration_us": %d, "socket_errors": %d, "status_errors": %d, '
    .. '"p50_us": %d, "p95_us": %d, "p99_us": %d}\\n',
    "MARK", summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout,
    e.status, latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
"""


@dataclass(frozen=True)
class Load:
    """What one wrk run measured."""

    requests: int
    seconds: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    server_cores: float  # CPU time of the watched processes / wall time
    client_cores: float  # CPU time of wrk / wall time
    machine_busy: float  # share of all CPUs busy during the run, 0..1

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


def wrk_binary() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise RuntimeError("wrk is missing: install Debian's wrk package (./build.sh deps)")
    return found


def process_tree(pid: int) -> list[int]:
    """``pid`` and every process descending from it."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        parents.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(parents.get(current, []))
    return found


def cpu_seconds(pids: Iterable[int]) -> float:
    """User and system CPU time of ``pids`` (those still alive), in seconds."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / TICKS


def _machine_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs since boot."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    total = sum(fields[:8])  # without guest time, which steal/user already count
    return total - idle, total


class Wrk:
    """Runs wrk against one server: ``run(url, headers)``."""

    def __init__(self, connections: int = 8, threads: int = 1) -> None:
        self.binary = wrk_binary()
        self.connections = connections
        self.threads = threads
        self._dir = Path(tempfile.mkdtemp(prefix="bw-wrk-", dir="/tmp"))
        self.script = self._dir / "done.lua"
        self.script.write_text(DONE_HOOK.replace("MARK", MARK))

    def close(self) -> None:
        shutil.rmtree(self._dir, ignore_errors=True)

    def run(
        self, url: str, headers: Mapping[str, str], seconds: float, watch: Iterable[int] = ()
    ) -> Load:
        """Load ``url`` for ``seconds``; ``watch``: the pids whose CPU time is measured."""
        argv = [self.binary, "-t", str(self.threads), "-c", str(self.connections),
                "-d", f"{seconds:g}s", "--timeout", "10s", "-s", str(self.script)]  # fmt: skip
        for name, value in headers.items():
            argv += ["-H", f"{name}: {value}"]
        argv.append(url)
        watched = [tree for pid in watch for tree in process_tree(pid)]
        server_before = cpu_seconds(watched)
        busy_before, total_before = _machine_ticks()
        started = time.monotonic()
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.monotonic() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        server_cores = (cpu_seconds(watched) - server_before) / wall
        busy_after, total_after = _machine_ticks()
        assert proc.stdout is not None and proc.stderr is not None
        out, err = proc.stdout.read(), proc.stderr.read()
        proc.stdout.close()
        proc.stderr.close()
        lines = [line for line in out.splitlines() if line.startswith(MARK)]
        if proc.returncode != 0 or not lines:
            raise RuntimeError(f"wrk failed (exit {proc.returncode}): {err.strip() or out}")
        result = json.loads(lines[-1][len(MARK) :])
        if result["socket_errors"] or result["status_errors"]:
            raise RuntimeError(f"wrk saw errors against {url}: {result}; {out}")
        if not result["requests"]:
            raise RuntimeError(f"wrk got no answer from {url}: {out}")
        return Load(
            requests=result["requests"],
            seconds=result["duration_us"] / 1e6,
            p50_ms=result["p50_us"] / 1000,
            p95_ms=result["p95_us"] / 1000,
            p99_ms=result["p99_us"] / 1000,
            server_cores=server_cores,
            client_cores=(usage.ru_utime + usage.ru_stime) / wall,
            machine_busy=(busy_after - busy_before) / max(1, total_after - total_before),
        )
