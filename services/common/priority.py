"""A lower CPU priority while a program starts, for the programs the appliance's health does
not wait for.

At boot supervisord starts every Python program at once, and each spends seconds of CPU time
loading its libraries (most of all under software emulation, on two emulated CPUs). The
appliance is usable once DNS, Central and the web console answer; the agents, the monitor
and the diagnostic shell are not on that path. burrow-launch starts those with ``nice -n
START_NICE`` and ``BURROW_START_NICE`` set; once such a program has loaded its code and is
about to serve, it calls ``serving()``, which puts every thread of the process back at
priority 0. From then on all programs share the CPU as equals again.
"""

from __future__ import annotations

import logging
import os

log = logging.getLogger(__name__)

#: The nice value of a program that is still starting: the lowest, so that Central and the
#: web console get nearly all of the CPU while these load (at 10 they gave up some 1.5 s of
#: the boot under software emulation; docs/benchmarks.md).
START_NICE = 19
#: Set by burrow-launch for a program started with ``nice``: it comes back to 0 when it serves.
ENV = "BURROW_START_NICE"


def serving() -> None:
    """Back to priority 0 (every thread), if this program was started with a lower one.

    Needs root (CAP_SYS_NICE): burrow-launch lowers the priority only when it runs as root,
    and the programs it lowers call this before they give up root, if they do.
    """
    if not os.environ.pop(ENV, None):
        return
    try:
        threads = [int(tid) for tid in os.listdir("/proc/self/task")]
    except OSError:
        threads = [0]
    for tid in threads:
        try:
            os.setpriority(os.PRIO_PROCESS, tid, 0)
        except ProcessLookupError:
            continue  # the thread has ended meanwhile
        except OSError as exc:
            log.warning("keeps its start-up priority (nice %d): %s", os.nice(0), exc)
            return
