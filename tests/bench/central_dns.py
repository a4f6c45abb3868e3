"""Central holding 10,000 zones and 1,000,000 records: zone list and record search latency.

A Central process on loopback (SQLite, the appliance's default) is seeded straight in its
database, in bulk (not through an agent): 10,000 zones of one DNS server with 100 records
each (A, AAAA, MX, TXT). Then one client with a keep-alive connection sends each query
REQUESTS times per run; the figure is the median over RUNS runs of the 95th percentile.
"""

from __future__ import annotations

import random
import sys
import time

from services.sandbox.sandbox import Sandbox
from tests.bench.dns_seed import fill, start_with_dns_server
from tests.bench.report import Figure, at_most, median, percentile
from tests.harness.central import CentralProcess

ZONES = 10_000
PER_ZONE = 100
REQUESTS = 100
RUNS = 3
TARGET_MS = 200.0


def _record(zone: int, index: int) -> tuple[str, str, int, str]:
    origin = f"z{zone}.bench."
    kind = index % 20
    if kind == 0:
        return origin, "MX", 3600, f"10 mail.{origin}"
    if kind == 1:
        return origin if index == 1 else f"t{index}.{origin}", "TXT", 3600, f'"bench {index}"'
    if kind == 2:
        return f"h{index}.{origin}", "AAAA", 3600, f"2001:db8:{zone:x}::{index:x}"
    return f"h{index}.{origin}", "A", 3600, f"10.{zone // 256 % 256}.{zone % 256}.{index}"


def seed(central: CentralProcess, server_id: int) -> None:
    fill(
        central,
        server_id,
        ((z, f"z{z}.bench.", PER_ZONE) for z in range(1, ZONES + 1)),
        ((z, *_record(z, i)) for z in range(1, ZONES + 1) for i in range(PER_ZONE)),
    )


def _p95(central: CentralProcess, token: str, paths: list[str]) -> float:
    latencies = []
    with central.client(token) as http:
        http.get(paths[0]).raise_for_status()
        for n in range(REQUESTS):
            t0 = time.perf_counter()
            response = http.get(paths[n % len(paths)])
            latencies.append(time.perf_counter() - t0)
            response.raise_for_status()
    return percentile(latencies, 95) * 1000


def central_dns(_box: Sandbox) -> list[Figure]:
    central = CentralProcess()
    figures = []
    try:
        token, server_id = start_with_dns_server(central)
        t0 = time.perf_counter()
        seed(central, server_id)
        print(f"  seeded {ZONES} zones, {ZONES * PER_ZONE} records in "
              f"{time.perf_counter() - t0:.1f} s", file=sys.stderr)  # fmt: skip
        with central.client(token) as http:
            check = http.get("/api/v1/dns/records?limit=1").json()
            assert check["total"] == ZONES * PER_ZONE, check["total"]
        rng = random.Random(4)
        zones = [rng.randrange(1, ZONES + 1) for _ in range(REQUESTS)]
        queries = {
            "zone list, 100-item page": ["/api/v1/dns/zones?limit=100"],
            "zone list, name filter": [f"/api/v1/dns/zones?filter=name~z{z}&limit=100"
                                       for z in zones],
            "zone list, page at offset 9,000": ["/api/v1/dns/zones?offset=9000&limit=100"],
            "record search, name prefix": [f"/api/v1/dns/records?name=h5*.z{z}.bench.&limit=100"
                                           for z in zones],
            "record search, owner suffix (full scan)": [
                f"/api/v1/dns/records?name=*5.z{z}.bench.&limit=100" for z in zones[:10]
            ],
            "record search, type and address": [
                f"/api/v1/dns/records?type=A&data=10.{z // 256 % 256}.{z % 256}.7" for z in zones
            ],
            "record search, one zone's records": [
                f"/api/v1/dns/zones/{z}/records?limit=100" for z in zones
            ],
            "record search, type MX page": ["/api/v1/dns/records?type=MX&limit=100"],
        }  # fmt: skip
        for label, paths in queries.items():
            runs = []
            for run in range(RUNS):
                runs.append(_p95(central, token, paths))
                print(f"  {label} run {run + 1}/{RUNS}: p95 {runs[-1]:.1f} ms", file=sys.stderr)
            value = median(runs)
            figures.append(
                Figure("central-dns", f"{label} p95", value, "ms", f"<= {TARGET_MS:.0f} ms",
                       at_most(value, TARGET_MS))
            )  # fmt: skip
    finally:
        central.stop()
    return figures
