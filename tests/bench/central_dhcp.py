"""Central's DHCP API: one reservation change through Central until Kea serves it.

With 1,000 scopes configured (configuration data only: subnets of the benchmarking network
198.18.0.0/15 that no interface has and no packet uses), a reservation is changed 100 times
through Central's ``PUT /api/v1/dhcp/servers/{id}/v4/scopes/{scope_id}`` (Central →
dhcp-agent over mutual TLS → Kea, history recorded); a DHCP probe on the sandbox's link waits
for Kea to offer the reserved address. For Central's share, the same change is then sent
straight to the agent (as Central sends it) 30 times: the difference of the medians is what
Central adds. Both loops are ``tests.bench.dhcp.changes_until_served``.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

import httpx

from services.sandbox.sandbox import Sandbox
from tests.bench.dhcp import changes_until_served, config_only_scopes
from tests.bench.report import Figure, at_most, median, percentile
from tests.dhcp.conftest import Agent
from tests.harness.wait import wait_for

SCOPES = 1000
CHANGES = 100
DIRECT = 30


def _log(message: str) -> None:
    print(f"[central-dhcp] {message}", file=sys.stderr, flush=True)


def ok(response: httpx.Response) -> Any:
    assert response.status_code < 300, response.text
    return response.json()


Call = Callable[..., httpx.Response]


def central_api(box: Sandbox, timeout: float) -> tuple[Call, int]:
    """``call(method, path, body=None)`` to the sandbox's Central as its admin (each call
    given ``timeout`` seconds), and the id of the appliance's own DHCP server once enrolled."""
    token = box.central_token()

    def call(method: str, path: str, body: Any = None) -> httpx.Response:
        return box.https(1231, path, method=method, token=token, json_body=body, timeout=timeout)

    def local_server() -> int | None:
        items = ok(call("GET", "/api/v1/dhcp/servers"))["items"]
        ready = [s["id"] for s in items if s["local"] and s["state"] == "reachable"]
        return int(ready[0]) if ready else None

    return call, wait_for(local_server, timeout=60, interval=0.5, what="the DHCP server enrolled")


def central_dhcp(box: Sandbox) -> list[Figure]:
    call, server_id = central_api(box, timeout=120)
    base = f"/api/v1/dhcp/servers/{server_id}/v4"
    state = ok(call("GET", f"{base}/config"))
    original = state["config"]
    bulk = {"Dhcp4": {**original["Dhcp4"], "subnet4": list(original["Dhcp4"]["subnet4"])}}
    bulk["Dhcp4"]["subnet4"] += config_only_scopes(SCOPES)
    t0 = time.monotonic()
    ok(call("PUT", f"{base}/config", {"config": bulk, "comment": "benchmark scopes"}))
    _log(f"{SCOPES} scopes set through Central in {time.monotonic() - t0:.2f} s")
    found = ok(call("GET", f"{base}/scopes?filter=subnet:{box.network}"))["items"]
    on_link = found[0]
    client = box.add_client()

    def through_central(address: str) -> None:
        body = {**on_link, "reservations": [{"hw_address": client.mac,
                                             "ip_addresses": [address]}]}  # fmt: skip
        ok(call("PUT", f"{base}/scopes/{on_link['id']}", body))

    agent = Agent(box)
    wire = {k: v for k, v in on_link.items() if k != "comment"}

    def to_the_agent(address: str) -> None:
        body = {**wire, "reservations": [{"hw_address": client.mac,
                                          "ip_addresses": [address]}]}  # fmt: skip
        agent.ok(agent.put(f"/v4/scopes/{on_link['id']}", json=body))

    try:
        central = changes_until_served(box, client, through_central, CHANGES)
        direct = changes_until_served(box, client, to_the_agent, DIRECT)
    finally:
        agent.close()
        ok(call("PUT", f"{base}/config", {"config": original, "comment": "benchmark done"}))
    # the direct changes were made behind Central's back: the next sync records them
    med = median(central.serve_times)
    api, alone = median(central.api_times), median(direct.api_times)
    return [
        Figure("central-dhcp", f"change through Central to serving, {SCOPES} scopes, median",
               med, "s", "<= 0.5 s", at_most(med, 0.5)),
        Figure("central-dhcp", "change through Central to serving, p95",
               percentile(central.serve_times, 95), "s"),
        Figure("central-dhcp", "Central answered, median", api, "s"),
        Figure("central-dhcp", "the agent alone answered, median", alone, "s"),
        Figure("central-dhcp", "Central's share (difference of the medians)", api - alone, "s"),
        Figure("central-dhcp", "appliance CPU per change through Central",
               central.cpu_per_change, "s"),
        Figure("central-dhcp", "appliance CPU per change to the agent alone",
               direct.cpu_per_change, "s"),
    ]  # fmt: skip
