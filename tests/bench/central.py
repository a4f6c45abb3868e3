"""Central's API under load: authenticated GET of one object and of a 100-item page.

For SQLite and for PostgreSQL, a Central process on loopback (the same code the appliance
runs, with a database of its own; PostgreSQL from Debian's packages on a unix socket) gets
120 registered servers, then 4 clients with keep-alive connections each send their share of
the requests. Figures are medians over several runs: requests per second and the 95th
percentile latency. Central's idle memory (RSS) is read from /proc, for the sandbox
appliance's Central (SQLite) and for each loopback Central after its load.
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

from services.sandbox.sandbox import Sandbox
from tests.bench.report import Figure, median, percentile
from tests.harness.central import CentralProcess
from tests.harness.postgres import Postgres

CLIENTS = 4
REQUESTS_PER_RUN = 600
RUNS = 5
SERVERS = 120


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def _load(central: CentralProcess, token: str, path: str) -> tuple[float, float]:
    """One run: (requests per second, p95 latency in ms)."""
    latencies: list[float] = []
    lock = threading.Lock()
    errors: list[str] = []
    share = REQUESTS_PER_RUN // CLIENTS
    barrier = threading.Barrier(CLIENTS + 1)

    def client() -> None:
        mine: list[float] = []
        with central.client(token) as http:
            http.get(path)  # connect before the clock starts
            barrier.wait()
            for _ in range(share):
                t0 = time.perf_counter()
                response = http.get(path)
                mine.append(time.perf_counter() - t0)
                if response.status_code != 200:
                    errors.append(f"{path}: HTTP {response.status_code}")
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    barrier.wait()
    start = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    if errors:
        raise RuntimeError(errors[0])
    return len(latencies) / elapsed, percentile(latencies, 95) * 1000


def _measure(backend: str, central: CentralProcess) -> list[Figure]:
    username, password = central.admin_password()
    token = central.login(username, password)
    with central.client(token) as http:
        for n in range(SERVERS):
            response = http.post(
                "/api/v1/servers",
                json={"kind": "dns", "name": f"bench-{n}", "address": f"198.51.100.{n + 2}"},
            )
            response.raise_for_status()
        one = response.json()["id"]
        page = http.get("/api/v1/servers?limit=100").json()
        assert len(page["items"]) == 100 and page["total"] >= SERVERS
    figures = []
    for label, path in (("one object", f"/api/v1/servers/{one}"),
                        ("100-item page", "/api/v1/servers?limit=100")):  # fmt: skip
        _load(central, token, path)  # warm-up
        rates, p95s = [], []
        for run in range(RUNS):
            rate, p95 = _load(central, token, path)
            rates.append(rate)
            p95s.append(p95)
            print(f"  {backend} {label} run {run + 1}/{RUNS}: {rate:.0f} req/s, p95 {p95:.1f} ms",
                  file=sys.stderr)  # fmt: skip
        figures.append(Figure("central", f"{backend} GET {label}", median(rates), "req/s"))
        figures.append(Figure("central", f"{backend} GET {label} p95", median(p95s), "ms"))
    time.sleep(2)  # let it go idle
    assert central.proc is not None
    figures.append(Figure("central", f"{backend} RSS after load, idle", rss_mib(central.proc.pid),
                          "MiB"))  # fmt: skip
    return figures


def central_api(box: Sandbox) -> list[Figure]:
    figures = [
        Figure("central", "appliance Central RSS, idle", rss_mib(box.supervisor().pid("central")),
               "MiB", "<= 150 MiB"),
    ]  # fmt: skip
    figures[0].verdict = "ok" if figures[0].value <= 150 else "MISSED"
    postgres = Postgres().start()
    try:
        for backend in ("sqlite", "postgresql"):
            url = postgres.create_database("bench") if backend == "postgresql" else None
            central = CentralProcess(database_url=url)
            try:
                central.start()
                figures.extend(_measure(backend, central))
            finally:
                central.stop()
    finally:
        postgres.stop()
    return figures
