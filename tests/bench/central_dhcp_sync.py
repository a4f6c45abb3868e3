"""Central's DHCP sync of a large server: 1,000 scopes and 10,000 reservations.

An outside tool sets a configuration of 1,000 configuration-only scopes (subnets of the
benchmarking network 198.18.0.0/15 that no interface has), each with 10 reservations, straight
to Kea (config-set through the Control Agent); ``POST /api/v1/dhcp/servers/{id}/sync`` then
takes the external change in: the hash compared, the configuration read through the agent,
stored, every object read before and after, the change recorded in the history. Each round
changes one reservation's hostname, so every sync finds a change. Median over the rounds, and
the CPU time the appliance's programs used for each sync (the machine may be shared: wall
times grow with other people's load, CPU time much less).
"""

from __future__ import annotations

import sys
import time
from typing import Any

from services.sandbox.sandbox import Sandbox
from tests.bench.central_dhcp import central_api, ok
from tests.bench.dhcp import appliance_cpu, config_only_scopes
from tests.bench.report import Figure, at_most, median

SCOPES = 1000
PER_SCOPE = 10
ROUNDS = 5


def _log(message: str) -> None:
    print(f"[central-dhcp-sync] {message}", file=sys.stderr, flush=True)


def large_config(original: dict[str, Any], round_: int) -> dict[str, Any]:
    """The appliance's configuration with SCOPES scopes of PER_SCOPE reservations each."""
    scopes = config_only_scopes(SCOPES)
    for n, scope in enumerate(scopes):
        first = scope["pools"][0]["pool"].split(" - ")[0]
        base = ".".join(first.split(".")[:3])
        last = int(first.split(".")[3])
        scope["reservations"] = [
            {"hw-address": f"02:00:{n >> 8:02x}:{n & 255:02x}:00:{r:02x}",
             "ip-address": f"{base}.{last + 100 + r}", "hostname": f"h{n}-{r}"}
            for r in range(PER_SCOPE)
        ]  # fmt: skip
    scopes[0]["reservations"][0]["hostname"] = f"round{round_}"
    top = dict(original["Dhcp4"])
    top["subnet4"] = list(top.get("subnet4", [])) + scopes
    return {"Dhcp4": top}


def central_dhcp_sync(box: Sandbox) -> list[Figure]:
    call, server_id = central_api(box, timeout=300)
    sync_path = f"/api/v1/dhcp/servers/{server_id}/sync"
    original = box.kea("config-get", "dhcp4")["arguments"]
    ok(call("POST", sync_path))  # Central's snapshot of the appliance's own configuration
    times: list[float] = []
    cpus: list[float] = []
    try:
        for round_ in range(ROUNDS + 1):
            answer = box.kea("config-set", "dhcp4", large_config(original, round_), timeout=120)
            assert answer["result"] == 0, answer
            cpu0, t0 = appliance_cpu(box), time.monotonic()
            synced = ok(call("POST", sync_path))
            elapsed = time.monotonic() - t0
            cpu = appliance_cpu(box) - cpu0
            assert synced["families"]["v4"]["changed"], synced
            if round_ > 0:  # the first brings all 1,000 scopes in
                times.append(elapsed)
                cpus.append(cpu)
            _log(f"round {round_}: sync {elapsed:.2f} s, appliance CPU {cpu:.2f} s")
        page = ok(call("GET", f"/api/v1/dhcp/servers/{server_id}/v4/scopes?limit=1"))
        assert page["total"] >= SCOPES, page["total"]
    finally:
        box.kea("config-set", "dhcp4", original, timeout=120)
        ok(call("POST", sync_path))
    med = median(times)
    return [
        Figure("central-dhcp-sync",
               f"sync of an external change, {SCOPES} scopes, {SCOPES * PER_SCOPE} "
               "reservations, median", med, "s", "<= 2 s", at_most(med, 2.0)),
        Figure("central-dhcp-sync", "slowest sync", max(times), "s"),
        Figure("central-dhcp-sync", "appliance CPU per sync (Kea, agent, Central), median",
               median(cpus), "s"),
    ]  # fmt: skip
