"""How long this process took to start: logged by Central once it serves.

A restore waits for Central's start more than for anything else (docs/benchmarks.md), so its
log says where that start went: loading the code (imports), the start-up work of the
application (database check, first administrator, local agents), and how much of it was CPU
time of this process (the rest: waiting for the CPU or for I/O).
"""

from __future__ import annotations

import os
import time


def process_age() -> float:
    """Seconds since this process started (Linux: ``/proc/self/stat``); 0.0 if unknown."""
    try:
        with open("/proc/self/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        started = int(fields[19]) / os.sysconf("SC_CLK_TCK")  # field 22: start time, in ticks
        return max(0.0, time.clock_gettime(time.CLOCK_BOOTTIME) - started)
    except (OSError, ValueError, IndexError):
        return 0.0


def cpu_seconds() -> float:
    """CPU time (user and system) this process has used."""
    return time.process_time()
