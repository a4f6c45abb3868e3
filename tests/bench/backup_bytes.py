"""Backups: what one DNS record change costs with a 100,000-record zone.

A zone of 100,000 A records is imported through Central, the appliance is paired with the
in-test peer (tests/backup_appliance/fake_peer.py: issue 7's upload contract, in memory) and
its first full backup is sent. Then, ``RUNS`` times, one record is added through Central's
DNS API; Central's history tells the producer, which collects an incremental backup (rndc
sync, the SQLite snapshot, the stat cache, chunking) and sends it. Measured per change:

- the collect time of that incremental (the producer's own measure, backup-status.json);
- the bytes the peer received for it: request bodies (missing-check, chunk deltas, the
  snapshot record) and, separately, bodies plus HTTP request lines and headers (TLS framing
  not counted); target: at most 16 KB in total;
- the time from the commit of the change in Central (the mtime of the file its history hook
  touches) until the peer has recorded the snapshot.
"""

from __future__ import annotations

import sys
import time
from typing import Any

import httpx

from services.common.backup.files import changed_file
from services.common.files import read_json
from services.sandbox.sandbox import Sandbox
from tests.backup_appliance.fake_peer import FakePeer
from tests.bench.report import Figure, at_most, median
from tests.harness.wait import wait_for

RECORDS = 100_000
RUNS = 5
LIMIT_BYTES = 16 * 1024


def _log(message: str) -> None:
    print(f"[backup-bytes] {message}", file=sys.stderr, flush=True)


def _ok(response: httpx.Response) -> Any:
    assert response.status_code < 300, response.text
    return response.json() if response.content else None


def backup_bytes(box: Sandbox) -> list[Figure]:
    token = box.central_token()

    def call(method: str, path: str, body: Any = None) -> httpx.Response:
        return box.https(1231, path, method=method, token=token, json_body=body, timeout=600)

    server_id = _ok(call("GET", "/api/v1/servers?filter=kind:dns"))["items"][0]["id"]
    name = "bench-backup.example."
    lines = [
        f"$ORIGIN {name}",
        "$TTL 300",
        "@ IN SOA ns1 hostmaster 1 3600 900 1209600 300",
        "@ IN NS ns1",
        "ns1 IN A 203.0.113.53",
    ]
    lines += [f"h{i} IN A 10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}" for i in range(RECORDS)]
    started = time.monotonic()
    zone = _ok(
        call(
            "POST",
            "/api/v1/dns/zones/import",
            {"server_id": server_id, "name": name, "text": "\n".join(lines) + "\n"},
        )
    )
    _log(f"imported {RECORDS} records in {time.monotonic() - started:.1f} s")
    peer = FakePeer(box.host_address).start()
    try:
        _ok(
            call(
                "PUT",
                "/api/v1/appliance/peer",
                {
                    "address": peer.address,
                    "port": peer.port,
                    "token": peer.pairing_token(),
                    "fingerprint": peer.fingerprint,
                },
            )
        )
        wait_for(
            lambda: any(s["kind"] == "full" for s in peer.snapshots),
            timeout=300,
            interval=0.2,
            what="the first full backup",
        )
        full_bytes = peer.received_bytes
        _log(f"first full backup: {full_bytes} bytes received")
        status_file = box.root.lib / "backup-status.json"
        wait_for(lambda: read_json(status_file)["outbox"] == 0, timeout=120)
        collect: list[float] = []
        bodies: list[float] = []
        totals: list[float] = []
        latency: list[float] = []
        changes: list[float] = []
        for run in range(RUNS):
            # Let anything Central does on its own go out first.
            wait_for(lambda: read_json(status_file)["outbox"] == 0, timeout=120)
            count = len(peer.snapshots)
            body_before = peer.received_bytes
            header_before = peer.received_header_bytes
            change = {
                "changes": [
                    {
                        "action": "create",
                        "record": {
                            "name": f"added{run}",
                            "type": "A",
                            "data": f"198.51.100.{run + 1}",
                        },
                    }
                ],
                "comment": "bench",
            }
            _ok(call("POST", f"/api/v1/dns/zones/{zone['id']}/changes", change))
            wait_for(lambda c=count: len(peer.snapshots) > c, timeout=60, interval=0.01)  # type: ignore[misc]
            # Wait until nothing more comes (a change may end in two commits, hence two
            # snapshots): the bytes of the change are those of all its snapshots.
            settled = len(peer.snapshots)
            while True:
                time.sleep(2.0)
                if len(peer.snapshots) == settled and read_json(status_file)["outbox"] == 0:
                    break
                settled = len(peer.snapshots)
            # From the last commit (Central's history hook touched the file) to the peer's
            # last record.
            committed = changed_file(box.root).stat().st_mtime
            latency.append(peer.recorded_at[-1] - committed)
            snapshots = len(peer.snapshots) - count
            status = read_json(status_file)
            seconds = float(status["last_incremental"]["collect_seconds"])
            body = peer.received_bytes - body_before
            total = body + peer.received_header_bytes - header_before
            _log(
                f"run {run}: {snapshots} snapshot(s), collect {seconds:.3f} s, "
                f"{body} body bytes, {total} with headers, {peer.requests} requests so far"
            )
            collect.append(seconds)
            bodies.append(body / snapshots)
            totals.append(total / snapshots)
            changes.append(total)
    finally:
        peer.stop()
    return [
        Figure("backup-bytes", f"full backup sent ({RECORDS} records)", full_bytes, "bytes"),
        Figure(
            "backup-bytes", "incremental collect time, one record changed", median(collect), "s"
        ),
        Figure("backup-bytes", "per snapshot: bytes sent (bodies)", median(bodies), "bytes"),
        Figure(
            "backup-bytes",
            "per change: bytes sent (bodies + headers, all its snapshots)",
            median(changes),
            "bytes",
        ),
        Figure(
            "backup-bytes",
            "per snapshot: bytes sent (bodies + HTTP headers)",
            median(totals),
            "bytes",
            f"<= {LIMIT_BYTES}",
            at_most(median(totals), LIMIT_BYTES),
        ),
        Figure(
            "backup-bytes",
            "change committed -> snapshot recorded at the peer",
            median(latency),
            "s",
            "<= 1.5",
            at_most(median(latency), 1.5),
        ),
    ]
