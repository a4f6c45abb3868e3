"""Idle memory: what each program of a healthy, idle appliance keeps resident.

The sandbox appliance runs the same programs as the image. Once every health check passes,
the benchmark lets it idle for :data:`SETTLE_SECONDS`, then reads ``/proc`` for supervisord and
every program it runs (each with its children, such as Kea's ``sh -c`` wrapper). Two figures per
program: RSS, which counts every shared page (the interpreter, shared libraries) in full in each
process, and anonymous memory (heaps, stacks, the Python objects of every imported module), the
part that only this program holds and that the kernel cannot drop and read again from a file.
Anonymous memory is what the memory in use on the image's console (``MemTotal -
MemAvailable``) follows most closely; the sums also give PSS, which splits a shared page between
the processes that map it (on a development machine, also with other processes that map the
same files, so it reads lower than in the image).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from services.sandbox.sandbox import Sandbox
from tests.bench.report import Figure

#: Idle time after the appliance is healthy, before memory is read.
SETTLE_SECONDS = 30.0


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants."""
    pids = [pid]
    for one in pids:
        try:
            for task in Path(f"/proc/{one}/task").iterdir():
                pids += [int(p) for p in (task / "children").read_text().split()]
        except FileNotFoundError:  # it, or one of its threads, has just exited
            continue
    return pids


def _field_kib(path: Path, name: str) -> int:
    for line in path.read_text().splitlines():
        if line.startswith(name):
            return int(line.split()[1])
    return 0  # a kernel thread or a process that just exited


def memory(pids: list[int]) -> tuple[float, float, float]:
    """RSS, PSS and anonymous memory of these processes together, MiB."""
    rss = pss = anon = 0
    for one in pids:
        try:
            rss += _field_kib(Path(f"/proc/{one}/status"), "VmRSS:")
            rollup = Path(f"/proc/{one}/smaps_rollup")
            pss += _field_kib(rollup, "Pss:")
            anon += _field_kib(rollup, "Anonymous:")
        except FileNotFoundError:
            continue
    return rss / 1024, pss / 1024, anon / 1024


def idle_memory(box: Sandbox) -> list[Figure]:
    box.wait_ready()
    time.sleep(SETTLE_SECONDS)  # the idle period itself: what is measured is the state after it
    box.wait_ready()
    pids = {p["name"]: int(p["pid"]) for p in box.supervisor().processes() if p["pid"]}
    measured = {name: memory(process_tree(pid)) for name, pid in pids.items()}
    # supervisord's tree holds every program: supervisord is counted alone.
    measured["supervisord"] = memory([int((box.root.run / "supervisord.pid").read_text())])
    figures: list[Figure] = []
    for name, (rss, _, anon) in sorted(measured.items(), key=lambda item: -item[1][0]):
        figures.append(Figure("idle-memory", f"{name} RSS", rss, "MiB"))
        figures.append(Figure("idle-memory", f"{name} anonymous", anon, "MiB"))
    for index, what in enumerate(("RSS", "PSS", "anonymous memory")):
        total = sum(values[index] for values in measured.values())
        figures.append(Figure("idle-memory", f"all programs, sum of {what}", total, "MiB"))
    figures.append(Figure("idle-memory", "load average (1 min)", os.getloadavg()[0], ""))
    return figures
