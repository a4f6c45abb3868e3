"""Central filled with DNS data for the read benchmarks (the API's and the console's).

Writing 10,000 zones and a million records through the API would take the benchmark's whole
budget, so they go straight into Central's SQLite database, in the shape its migrations made.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from tests.harness.central import CentralProcess

STAMP = "2026-01-01 00:00:00.000000"

#: (id, name, record count) of a zone; (zone id, name, type, ttl, data) of a record.
Zone = tuple[int, str, int]
Record = tuple[int, str, str, int, str]


def start_with_dns_server(central: CentralProcess) -> tuple[str, int]:
    """Start ``central``, log its administrator in and register a DNS server.

    Answers the administrator's token and the server's id.
    """
    central.start()
    token = central.login(*central.admin_password())
    with central.client(token) as http:
        response = http.post(
            "/api/v1/servers",
            json={"kind": "dns", "name": "bench-dns", "address": "198.51.100.9"},
        )
        response.raise_for_status()
        return token, int(response.json()["id"])


def fill(
    central: CentralProcess, server_id: int, zones: Iterable[Zone], records: Iterable[Record]
) -> None:
    """Insert ``zones`` (primary, of ``server_id``) and their ``records``, then ANALYZE."""
    conn = sqlite3.connect(central.root.lib / "central.db", timeout=60)
    try:
        with conn:
            conn.executemany(
                "INSERT INTO dns_zones (id, server_id, name, kind, enabled, ttl, serial, soa,"
                " spec, record_count, created_at, updated_at) VALUES"
                " (?, ?, ?, 'primary', 1, 3600, 1, '', '{}', ?, ?, ?)",
                ((zid, server_id, name, count, STAMP, STAMP) for zid, name, count in zones),
            )
            conn.executemany(
                "INSERT INTO dns_records (zone_id, name, type, ttl, data) VALUES (?, ?, ?, ?, ?)",
                records,
            )
        conn.execute("ANALYZE")
    finally:
        conn.close()
