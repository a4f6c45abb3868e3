"""SNMP: a walk of the whole BURROW-MIB with net-snmp's tools, and the new programs' memory.

Times ``snmpwalk -v2c`` (GETNEXT), ``snmpbulkwalk -v2c`` (GETBULK) and ``snmpwalk -v3 -l
authPriv`` (SHA-256, AES) of burrowMIB from this machine to the sandbox's agent, medians of
several runs; then the resident memory of the monitor program (the agent) before and after, and
of chronyd and rsyslogd, the other programs issue 19 adds.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from services.sandbox.sandbox import Sandbox
from tests.bench.report import Figure, median
from tests.harness.wait import wait_for
from tests.monitor.snmp import AUTH_PASS, COMMUNITY, PRIV_PASS, USER, snmp, v2c, v3

RUNS = 7


def rss_mib(pid: int) -> float:
    """Resident memory of ``pid`` and its children (VmRSS), MiB."""
    total = 0
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    for one in pids:
        for line in Path(f"/proc/{one}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total / 1024


def snmp_bench(box: Sandbox) -> list[Figure]:
    token = box.central_token()
    settings = {
        "communities": [
            {"name": "bench", "community": COMMUNITY, "networks": [f"{box.host_address}/32"]}
        ],
        "users": [{"name": USER, "auth_protocol": "sha256", "auth_passphrase": AUTH_PASS,
                   "priv_protocol": "aes128", "priv_passphrase": PRIV_PASS}],
        "comment": "benchmark",
    }  # fmt: skip
    box.https(1231, "/api/v1/monitoring", method="PUT", token=token, json_body=settings,
              timeout=10).raise_for_status()  # fmt: skip
    wait_for(lambda: v2c("snmpget", box.address, COMMUNITY, "sysName.0").returncode == 0,
             timeout=30, what="the agent answering")  # fmt: skip
    view = box.supervisor()
    monitor = view.pid("monitor")
    before = rss_mib(monitor)
    walks = {
        "snmpwalk -v2c": lambda: v2c("snmpwalk", box.address, COMMUNITY, "burrowMIB"),
        "snmpbulkwalk -v2c": lambda: v2c("snmpbulkwalk", box.address, COMMUNITY, "burrowMIB"),
        "snmpwalk -v3 authPriv": lambda: v3("snmpwalk", box.address, USER, AUTH_PASS, PRIV_PASS,
                                            "burrowMIB"),
    }  # fmt: skip
    figures: list[Figure] = []
    objects = 0
    for name, walk in walks.items():
        times = []
        for _ in range(RUNS):
            start = time.perf_counter()
            result = walk()
            times.append(time.perf_counter() - start)
            if result.returncode != 0:
                raise RuntimeError(f"{name} failed: {result.stderr}")
            objects = len(result.stdout.splitlines())
        figures.append(Figure("snmp", f"{name} of burrowMIB ({objects} objects), median of "
                              f"{RUNS}", median(times) * 1000, "ms"))  # fmt: skip
    start = time.perf_counter()
    whole = snmp("snmpwalk", ["-v2c", "-c", COMMUNITY], box.address, ".1.3.6.1")
    took = time.perf_counter() - start
    if whole.returncode != 0:
        raise RuntimeError(f"the walk of everything failed: {whole.stderr}")
    count = len(whole.stdout.splitlines())
    figures.append(Figure("snmp", f"snmpwalk -v2c of everything, MIB-II and BURROW-MIB "
                          f"({count} objects), once", took * 1000, "ms"))  # fmt: skip
    figures.append(Figure("snmp", "monitor program RSS, idle", before, "MiB"))
    figures.append(Figure("snmp", "monitor program RSS after the walks", rss_mib(monitor), "MiB"))
    for program in ("chrony", "syslog"):
        figures.append(Figure("snmp", f"{program} RSS, idle", rss_mib(view.pid(program)), "MiB"))
    load = os.getloadavg()
    figures.append(Figure("snmp", "load average (1 min) during the runs", load[0], ""))
    box.https(1231, "/api/v1/monitoring", method="PUT", token=token,
              json_body={"comment": "benchmark done"}, timeout=10)  # fmt: skip
    return figures
