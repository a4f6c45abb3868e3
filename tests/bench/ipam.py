"""IPAM: next free address in a /16 range with 50,000 used addresses, through Central's API.

A Central of its own on loopback (not the sandbox's, so its database holds only this), on
SQLite and on PostgreSQL. A /16 range is made through the API; its first 50,000 addresses are
then used, written straight into the database to save minutes: 40,000 claims and 10,000 A
records of a zone Central knows (every fifth address). So the free address is the 50,001st,
and every request walks past all of them. Each round sends ``REQUESTS`` GETs of the next free
address and ``REQUESTS`` claiming POSTs (``?claim=true``, each holding one more address) on a
kept-alive HTTPS connection; figures are the median over ``ROUNDS`` rounds of each round's
p95 and p50.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import time
from collections.abc import Callable

import httpx
import sqlalchemy as sa

from services.sandbox.sandbox import Sandbox
from tests.bench.report import Figure, at_most, median, percentile
from tests.harness.central import CentralProcess
from tests.harness.postgres import Postgres

NAME = "ipam-next-free"
RANGE = ipaddress.IPv4Network("10.77.0.0/16")
USED = 50_000
RECORD_EVERY = 5
ROUNDS = 5
REQUESTS = 100
TARGET_MS = 50.0


def _seed(url: str, range_id: int, server_id: int) -> None:
    """50,000 used addresses at the start of the range: claims and A records."""
    engine = sa.create_engine(url)
    at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    first = int(RANGE.network_address)
    claims, records = [], []
    for n in range(USED):
        value = first + n
        address = str(ipaddress.IPv4Address(value))
        if n % RECORD_EVERY == 0:
            records.append({"name": f"h{n}.bench.test.", "data": address})
        else:
            claims.append({"range_id": range_id, "address": address, "key": f"{value:032x}",
                           "owner": "bench", "comment": "", "claimed_by": "bench",
                           "created_at": at})  # fmt: skip
    try:
        with engine.begin() as conn:
            zone_id = conn.execute(
                sa.text("INSERT INTO dns_zones (server_id, name, kind, enabled, ttl, soa, spec,"
                        " record_count, created_at, updated_at) VALUES (:server, 'bench.test.',"
                        " 'primary', true, 3600, '', '{}', :count, :at, :at) RETURNING id"),
                {"server": server_id, "count": len(records), "at": at},
            ).scalar_one()  # fmt: skip
            conn.execute(
                sa.text("INSERT INTO dns_records (zone_id, name, type, ttl, data)"
                        " VALUES (:zone, :name, 'A', 3600, :data)"),
                [{"zone": zone_id, **r} for r in records],
            )  # fmt: skip
            conn.execute(
                sa.text("INSERT INTO ipam_claims (range_id, address, key, owner, comment,"
                        " claimed_by, created_at) VALUES (:range_id, :address, :key, :owner,"
                        " :comment, :claimed_by, :created_at)"),
                claims,
            )  # fmt: skip
    finally:
        engine.dispose()


def _timed(call: Callable[[], httpx.Response], count: int) -> list[float]:
    times = []
    for _ in range(count):
        began = time.perf_counter()
        answer = call()
        times.append((time.perf_counter() - began) * 1000)
        if answer.status_code != 200:
            raise RuntimeError(f"{NAME}: {answer.status_code} {answer.text}")
    return times


def _measure(central: CentralProcess, backend: str) -> list[Figure]:
    username, password = central.admin_password()
    token = central.login(username, password)
    with central.client(token) as http:
        server = http.post("/api/v1/servers", json={"kind": "dns", "name": "bench-dns",
                                                    "address": "198.51.100.2"})  # fmt: skip
        rng = http.post("/api/v1/ipam/ranges", json={
            "start": str(RANGE[0]), "end": str(RANGE[-1]), "name": "bench"})  # fmt: skip
        if server.status_code != 201 or rng.status_code != 201:
            raise RuntimeError(f"{NAME}: setting up: {server.text} {rng.text}")
        range_id = rng.json()["id"]
        url = central.database_url or f"sqlite:///{central.root.lib / 'central.db'}"
        _seed(url, range_id, server.json()["id"])
        path = f"/api/v1/ipam/ranges/{range_id}/next-free-address"
        expected = str(RANGE[USED])
        first = http.get(path).json()
        if first["address"] != expected:
            raise RuntimeError(f"{NAME}: next free is {first['address']}, not {expected}")
        looks, claims = [], []
        for _ in range(ROUNDS):
            looks.append(_timed(lambda: http.get(path), REQUESTS))
            claims.append(_timed(lambda: http.post(path + "?claim=true", json={}), REQUESTS))
    figures = []
    load = os.getloadavg()[0]
    for label, rounds in (("GET next free", looks), ("POST next free ?claim=true", claims)):
        p95 = median([percentile(r, 95) for r in rounds])
        p50 = median([percentile(r, 50) for r in rounds])
        figures.append(Figure(NAME, f"{label}, {backend}: p95 (median of {ROUNDS})", p95, "ms",
                              f"<= {TARGET_MS:.0f} ms", at_most(p95, TARGET_MS)))  # fmt: skip
        figures.append(Figure(NAME, f"{label}, {backend}: p50", p50, "ms"))
    figures.append(Figure(NAME, f"load average (1 min) after {backend}", load, ""))
    return figures


def on_both_databases(
    measure: Callable[[CentralProcess, str], list[Figure]], database: str
) -> list[Figure]:
    """``measure`` against a Central of its own on SQLite, then on PostgreSQL (a database named
    ``database`` in a PostgreSQL of its own)."""
    figures: list[Figure] = []
    sqlite = CentralProcess()
    try:
        sqlite.start()
        figures += measure(sqlite, "sqlite")
    finally:
        sqlite.stop()
    postgres = Postgres().start()
    try:
        pg_central = CentralProcess(database_url=postgres.create_database(database))
        try:
            pg_central.start()
            figures += measure(pg_central, "postgresql")
        finally:
            pg_central.stop()
    finally:
        postgres.stop()
    return figures


def ipam_next_free(_box: Sandbox) -> list[Figure]:
    return on_both_databases(_measure, "ipam_bench")
