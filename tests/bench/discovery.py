"""``./build.sh bench discovery``: a ping sweep of a /24 and an SNMP read of a router's
1,000-entry neighbour table, in namespaces of their own (tests/harness/discovery_lab.py).

The /24 has 55 live addresses (the router with 50 more addresses, the scanner, three host
namespaces); the sweep sends 254 echo requests at 500 per second and waits 1 s for late
replies. The router holds 1,000 permanent neighbour entries on 4 interfaces, read through
snmpd with SNMPv3 authPriv (SHA-256, AES-128) and with v2c; medians of RUNS runs.
"""

from __future__ import annotations

import json
import os
import re
import sys

from services.common.proc import run
from services.sandbox.sandbox import Sandbox
from tests.bench.report import Figure, median
from tests.harness.discovery_lab import (
    COMMUNITY,
    NETWORK,
    ROUTER,
    V3_AUTH,
    V3_PRIV,
    V3_USER,
    DiscoveryLab,
)  # fmt: skip
from tests.harness.wait import wait_for

RUNS = 3
EXTRA_LIVE = 50
TOOK = re.compile(r"found in ([0-9.]+) s")


def _took(said: str) -> float:
    found = TOOK.search(said)
    assert found, said
    return float(found.group(1))


def discovery_bench(_box: Sandbox) -> list[Figure]:
    prefix = os.environ.get("BURROW_TEST_PREFIX", "") + "b"
    with DiscoveryLab(prefix, hosts=3) as lab:
        for index in range(EXTRA_LIVE):
            address = f"{NETWORK[100 + index]}/{NETWORK.prefixlen}"
            run(["ip", "-n", lab.router, "addr", "add", address, "dev", "br0"])
        entries = lab.add_neighbours(per_port=250, ports=4)
        lab.start_snmpd()
        profiles = {
            "SNMPv3 authPriv": {"version": "3", "user": V3_USER, "auth_passphrase": V3_AUTH,
                                "priv_passphrase": V3_PRIV},
            "SNMPv2c": {"version": "2c", "community": COMMUNITY},
        }  # fmt: skip
        v2c = json.dumps(profiles["SNMPv2c"])
        wait_for(lambda: lab.discover("neighbours", str(ROUTER), "--profile", v2c),
                 timeout=30, interval=0.5, what="snmpd to answer")  # fmt: skip
        sweeps: list[float] = []
        live: list[float] = []
        for run_index in range(RUNS):
            found, said = lab.discover("sweep", str(NETWORK), "--rate", "500", "--timeout", "1")
            sweeps.append(_took(said))
            live.append(len(found))
            print(f"  sweep {run_index + 1}/{RUNS}: {said.strip()}", file=sys.stderr)
        figures = [
            Figure("discovery", "ping sweep of a /24 (254 addresses, 500/s), median",
                   median(sweeps), "s"),
            Figure("discovery", "the same, live addresses found", median(live), ""),
        ]  # fmt: skip
        for label, profile in profiles.items():
            times: list[float] = []
            counts: list[float] = []
            for run_index in range(RUNS):
                got, said = lab.discover("neighbours", str(ROUTER), "--profile",
                                         json.dumps(profile))  # fmt: skip
                times.append(_took(said))
                counts.append(len([e for e in got if str(e["mac"]).startswith("02:00:0")]))
                print(f"  {label} {run_index + 1}/{RUNS}: {said.strip()}", file=sys.stderr)
            figures.append(Figure("discovery", f"{entries:,}-entry neighbour table, {label}, "
                                  "median", median(times), "s"))  # fmt: skip
            figures.append(Figure("discovery", f"the same, entries read ({label})",
                                  median(counts), ""))  # fmt: skip
        return figures
