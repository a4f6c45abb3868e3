"""IPAM: the address page of a /16 range (65,536 addresses) with 50,000 used addresses, through
Central's API and as the console serves it.

A Central of its own on loopback, on SQLite and on PostgreSQL, seeded as the next-free
benchmark does (tests/bench/ipam.py: a /16 range whose first 50,000 addresses are used by
40,000 claims and 10,000 A records, written straight into the database), and the console
(``python -m webui``) over HTTPS against it, logged in through its form. What is measured, each
``REQUESTS`` times per run on a kept-alive connection, over pages spread across the range
(used and free parts alike), until the whole answer is read:

- Central's call behind the grid: the address view of one page of 256 addresses
  (``GET …/addresses?first=&last=&limit=256``);
- Central's call behind an address's page (``first`` = ``last`` = the address);
- the console's grid page of the range (``/ipam/ranges/ID?offset=``: the range, the view of
  its page, the property definitions) and an address's page (its view and its history).

Figures: the median over ``RUNS`` runs of each run's p95 (and p50), and the load average. The
address view of the whole range paged by ``offset`` (what reads every source of all 65,536
addresses at each request) is shown beside it for comparison, and so are the range's
utilisation and the console's tree page, which asks it (``TREE_REQUESTS`` each, no target).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable

import httpx

from services.sandbox.sandbox import Sandbox
from tests.bench.ipam import RANGE, USED, _seed, on_both_databases
from tests.bench.report import Figure, at_most, median, percentile
from tests.bench.webui import ConsoleProcess
from tests.harness.central import CentralProcess

NAME = "ipam-address-page"
RUNS = 5
REQUESTS = 40
WHOLE_REQUESTS = 5
TREE_REQUESTS = 10
TARGET_MS = 300.0
#: Grid pages asked for, spread over the range: used (claims, A records), the edge, free.
PAGES = [0, 37, 100, 150, 195, 196, 200, 255]


def _timed(call: Callable[[int], httpx.Response], count: int, check: str) -> list[float]:
    times = []
    for n in range(count):
        began = time.perf_counter()
        answer = call(n)
        body = answer.text
        times.append((time.perf_counter() - began) * 1000)
        if answer.status_code != 200 or check not in body:
            raise RuntimeError(f"{NAME}: {answer.status_code} {body[:300]}")
    return times


def _figures(label: str, runs: list[list[float]], target: bool = True) -> list[Figure]:
    p95 = median([percentile(r, 95) for r in runs])
    p50 = median([percentile(r, 50) for r in runs])
    limit = f"<= {TARGET_MS:.0f} ms" if target else ""
    verdict = at_most(p95, TARGET_MS) if target else ""
    return [
        Figure(NAME, f"{label}: p95 (median of {len(runs)})", p95, "ms", limit, verdict),
        Figure(NAME, f"{label}: p50", p50, "ms"),
    ]


def _measure(central: CentralProcess, backend: str) -> list[Figure]:
    username, password = central.admin_password()
    token = central.login(username, password)
    console: ConsoleProcess | None = None
    with central.client(token) as api:
        server = api.post("/api/v1/servers", json={"kind": "dns", "name": "bench-dns",
                                                   "address": "198.51.100.2"})  # fmt: skip
        rng = api.post("/api/v1/ipam/ranges", json={
            "start": str(RANGE[0]), "end": str(RANGE[-1]), "name": "bench"})  # fmt: skip
        if server.status_code != 201 or rng.status_code != 201:
            raise RuntimeError(f"{NAME}: setting up: {server.text} {rng.text}")
        range_id = rng.json()["id"]
        url = central.database_url or f"sqlite:///{central.root.lib / 'central.db'}"
        _seed(url, range_id, server.json()["id"])
        base = f"/api/v1/ipam/ranges/{range_id}/addresses"

        def grid_api(n: int) -> httpx.Response:
            page = PAGES[n % len(PAGES)]
            first, last = RANGE[page * 256], RANGE[page * 256 + 255]
            return api.get(f"{base}?first={first}&last={last}&limit=256")

        def one_api(n: int) -> httpx.Response:
            address = RANGE[PAGES[n % len(PAGES)] * 256 + 7]
            return api.get(f"{base}?first={address}&last={address}&limit=1")

        def whole_api(n: int) -> httpx.Response:
            return api.get(f"{base}?offset={PAGES[n % len(PAGES)] * 256}&limit=256")

        def utilisation_api(_n: int) -> httpx.Response:
            return api.get(f"/api/v1/ipam/ranges/{range_id}/utilisation")

        full = api.get(f"{base}?first={RANGE[0]}&last={RANGE[255]}&limit=256").json()
        if full["total"] != 256:
            raise RuntimeError(f"{NAME}: the first page has {full['total']} used addresses")
        try:
            console = ConsoleProcess(central).start()
            with console.client() as http:
                login = http.post("/login", data={"username": username, "password": password},
                                  follow_redirects=True)  # fmt: skip
                if login.status_code != 200 or "Dashboard" not in login.text:
                    raise RuntimeError(f"{NAME}: console login: {login.status_code}")

                def grid_page(n: int) -> httpx.Response:
                    offset = PAGES[n % len(PAGES)] * 256
                    return http.get(f"/ipam/ranges/{range_id}?offset={offset}")

                def address_page(n: int) -> httpx.Response:
                    address = RANGE[PAGES[n % len(PAGES)] * 256 + 7]
                    return http.get(f"/ipam/ranges/{range_id}/addresses/{address}")

                def tree_page(_n: int) -> httpx.Response:
                    return http.get("/ipam")

                runs: dict[str, list[list[float]]] = {}
                for run_no in range(RUNS):
                    for label, call, count, check in (
                        ("Central: one grid page (256 addresses)", grid_api, REQUESTS, "items"),
                        ("Central: one address", one_api, REQUESTS, "items"),
                        ("console: grid page of the range", grid_page, REQUESTS, "addr-grid"),
                        ("console: an address's page", address_page, REQUESTS, "Address "),
                        ("Central: whole-range view by offset (for comparison)", whole_api,
                         WHOLE_REQUESTS, "items"),
                        ("Central: utilisation of the range (no target)", utilisation_api,
                         TREE_REQUESTS, "by_source"),
                        ("console: the tree page (no target)", tree_page, TREE_REQUESTS,
                         "ipam-tree"),
                    ):  # fmt: skip
                        runs.setdefault(label, []).append(_timed(call, count, check))
                    print(f"  {backend} run {run_no + 1}/{RUNS}: " + ", ".join(
                        f"{k.split(':')[0]} {percentile(v[-1], 95):.0f}" for k, v in runs.items()
                    ) + " ms p95", file=sys.stderr)  # fmt: skip
        finally:
            if console is not None:
                console.stop()
    figures: list[Figure] = []
    for label, measured in runs.items():
        figures += _figures(
            f"{label}, {backend}",
            measured,
            target=not ("comparison" in label or "no target" in label),
        )
    figures.append(Figure(NAME, f"load average (1 min) after {backend}", os.getloadavg()[0], ""))
    return figures


def ipam_address_page(_box: Sandbox) -> list[Figure]:
    print(f"  {NAME}: a /16 range with {USED} used addresses", file=sys.stderr)
    return on_both_databases(_measure, "ipam_page_bench")
