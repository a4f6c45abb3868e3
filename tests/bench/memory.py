"""Idle memory: what each program of a healthy, idle appliance keeps resident.

The sandbox appliance runs the same programs as the image. Once every health check passes,
the benchmark lets it idle for :data:`SETTLE_SECONDS`, then reads ``/proc`` for supervisord and
every program it runs (each with its children, such as Kea's ``sh -c`` wrapper). Two figures per
program: RSS, which counts every shared page (the interpreter, shared libraries) in full in each
process, and PSS, which splits a shared page between the processes that map it. The sum of the
PSS figures is what the programs add to the memory in use the console shows (``MemTotal -
MemAvailable``); the kernel, its caches and the console itself come on top in the image.
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
        for task in Path(f"/proc/{one}/task").iterdir():
            children = task / "children"
            if children.exists():
                pids += [int(p) for p in children.read_text().split()]
    return pids


def _field_kib(path: Path, name: str) -> int:
    for line in path.read_text().splitlines():
        if line.startswith(name):
            return int(line.split()[1])
    return 0  # a kernel thread or a process that just exited


def tree_memory(pid: int) -> tuple[float, float]:
    """RSS and PSS of ``pid`` and its descendants, MiB."""
    rss = pss = 0
    for one in process_tree(pid):
        try:
            rss += _field_kib(Path(f"/proc/{one}/status"), "VmRSS:")
            pss += _field_kib(Path(f"/proc/{one}/smaps_rollup"), "Pss:")
        except FileNotFoundError:
            continue
    return rss / 1024, pss / 1024


def idle_memory(box: Sandbox) -> list[Figure]:
    box.wait_ready()
    time.sleep(SETTLE_SECONDS)  # the idle period itself: what is measured is the state after it
    box.wait_ready()
    pids = {p["name"]: int(p["pid"]) for p in box.supervisor().processes() if p["pid"]}
    pids["supervisord"] = int((box.root.run / "supervisord.pid").read_text().strip())
    measured = {name: tree_memory(pid) for name, pid in pids.items()}
    # supervisord's own tree holds every program: count supervisord alone.
    sup = pids["supervisord"]
    measured["supervisord"] = (
        _field_kib(Path(f"/proc/{sup}/status"), "VmRSS:") / 1024,
        _field_kib(Path(f"/proc/{sup}/smaps_rollup"), "Pss:") / 1024,
    )
    figures: list[Figure] = []
    for name, (rss, pss) in sorted(measured.items(), key=lambda item: -item[1][0]):
        figures.append(Figure("idle-memory", f"{name} RSS", rss, "MiB"))
        figures.append(Figure("idle-memory", f"{name} PSS", pss, "MiB"))
    total_rss = sum(rss for rss, _ in measured.values())
    total_pss = sum(pss for _, pss in measured.values())
    figures.append(Figure("idle-memory", "all programs, sum of RSS", total_rss, "MiB"))
    figures.append(Figure("idle-memory", "all programs, sum of PSS", total_pss, "MiB"))
    figures.append(Figure("idle-memory", "load average (1 min)", os.getloadavg()[0], ""))
    return figures
