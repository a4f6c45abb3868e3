"""Crash-to-serving time: SIGKILL a program, then poll its service until it answers.

For named (an SOA answer), kea-dhcp4 (a DHCPOFFER to a client on the sandbox's network),
central (its HTTPS health check) and dns-dhcp-agent (the process of the dns-agent and the
dhcp-agent: both health checks over mutual TLS). Between kills the program is let reach
RUNNING, so that every kill is a crash of a started program rather than a failed start.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Callable

from services.sandbox.sandbox import Sandbox
from tests.bench.report import Figure, at_most, median
from tests.harness.dhcp import DhcpProbe
from tests.harness.wait import wait_for

TARGETS = {"named": 1.0, "kea-dhcp4": 1.0, "central": 2.0, "dns-dhcp-agent": 2.0}


def _poll(check: Callable[[], bool], deadline: float = 30.0) -> float:
    """Epoch time at which ``check`` first passes."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        try:
            if check():
                return time.time()
        except Exception:  # not serving yet
            pass
        time.sleep(0.005)
    raise TimeoutError("the service did not come back within 30 s")


def crash_to_serving(box: Sandbox, kills: int = 20) -> list[Figure]:
    view = box.supervisor()
    probe = DhcpProbe(box.add_client())

    def dns() -> bool:
        return bool(box.dns_query(box.zone, "SOA", timeout=0.05).answer)

    def central() -> bool:
        return box.https(1231, "/api/v1/health", timeout=0.25).status_code == 200

    def agents() -> bool:
        return all(box.https(p, "/health", timeout=0.25).status_code == 200 for p in (1337, 4151))

    def kea() -> float:
        answer = probe.offer()
        if "offer_time" not in answer:
            raise TimeoutError(str(answer))
        return float(answer["offer_time"])

    figures: list[Figure] = []
    try:
        for program in TARGETS:
            times: list[float] = []
            for n in range(kills):
                wait_for(lambda p=program: view.states()[p] == "RUNNING", timeout=30)
                pid = view.pid(program)
                t0 = time.time()
                os.kill(pid, signal.SIGKILL)
                if program == "named":
                    served = _poll(dns)
                elif program == "central":
                    served = _poll(central)
                elif program == "dns-dhcp-agent":
                    served = _poll(agents)
                else:
                    served = kea()
                times.append(served - t0)
                print(f"  {program} kill {n + 1}/{kills}: {times[-1]:.3f} s", file=sys.stderr)
            target = TARGETS[program]
            med, worst = median(times), max(times)
            figures.append(
                Figure("crash-to-serving", f"{program} median", med, "s", f"<= {target} s",
                       at_most(med, target))
            )  # fmt: skip
            figures.append(
                Figure("crash-to-serving", f"{program} max", worst, "s", f"<= {2 * target} s",
                       at_most(worst, 2 * target))
            )  # fmt: skip
    finally:
        probe.close()
    return figures
