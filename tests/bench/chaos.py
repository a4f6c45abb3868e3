"""Chaos: changes acknowledged while programs die are never lost.

A lab with A (serving DHCP) paired with B. ``CHAOS_CHANGES`` DNS record changes go through A's
Central one after another while a killer sends SIGKILL, every 1 to 4 s (seeded, so a run can be
repeated), to one of A's Central, dns-dhcp-agent, named, kea-dhcp4 and appliance-agent, or to
B's Central; supervisord restarts each. A change that gets no answer or a 5xx is sent again,
as a script would, until it is acknowledged (Central answered 200) or refused as existing (an
earlier try applied it). Afterwards, once everything is back and A says every change is at B:

- at A: every acknowledged record is served by named (a TSIG-signed AXFR of the zone);
- at B: every acknowledged record is in Central's database inside the newest snapshot B
  stores (the bundle downloaded from B and read back, as a restore would).

The figures are the acknowledged changes, the kills, and the acknowledged changes missing at
A and at B (target 0 for both).
"""

from __future__ import annotations

import random
import sqlite3
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx

from services.common.backup.bundle import DirectoryChunkStore, read_bundle_file
from services.sandbox.lab import Lab
from services.sandbox.sandbox import Sandbox
from tests.backup_appliance.helpers import axfr
from tests.backups.appliance import CentralApi, record
from tests.backups.lab_flow import pair, snapshots
from tests.bench.report import Figure, at_most
from tests.conftest import open_lab
from tests.harness.wait import wait_for

CHAOS_CHANGES = 1000
ZONE = "chaos.e2e.test."
VICTIMS_A = ("central", "dns-dhcp-agent", "named", "kea-dhcp4", "appliance-agent")
SEED = 7
#: How long one change is sent again while it gets no answer or a 5xx.
RETRY_SECONDS = 120.0


def _log(message: str) -> None:
    print(f"[chaos] {message}", file=sys.stderr, flush=True)


def _killer(a: Sandbox, b: Sandbox, stop: threading.Event, kills: Counter[str]) -> None:
    rng = random.Random(SEED)
    victims = [(a, name) for name in VICTIMS_A] + [(b, "central")]
    while not stop.wait(rng.uniform(1.0, 4.0)):
        box, name = rng.choice(victims)
        try:
            box.supervisor().call("supervisor.signalProcess", name, "KILL")
            kills[f"{box.name}:{name}"] += 1
        except Exception as exc:  # not running at this moment: the next one
            _log(f"could not kill {box.name}:{name}: {exc}")


def _peer_records(on_b: CentralApi, peer_id: int) -> set[str]:
    """The record names of ZONE in Central's database inside B's newest snapshot of A."""
    newest = max(snapshots(on_b, peer_id), key=lambda s: s["id"])
    answer = on_b.call("GET", f"/api/v1/backup-peers/{peer_id}/snapshots/{newest['id']}/bundle")
    assert answer.status_code == 200, answer.text[:300]
    with tempfile.TemporaryDirectory(prefix="chaos-") as work:
        path = Path(work) / "bundle"
        path.write_bytes(answer.content)
        bundle = read_bundle_file(path, DirectoryChunkStore(Path(work) / "chunks"))
        entry = next(f for f in bundle.manifest["files"]
                     if f["path"].endswith("var/lib/burrow/central.db"))  # fmt: skip
        database = Path(work) / "central.db"
        with open(database, "wb") as out:
            for piece in bundle.file_content(entry):
                out.write(piece)
        conn = sqlite3.connect(database)
        try:
            rows = conn.execute(
                "SELECT r.name FROM dns_records r JOIN dns_zones z ON r.zone_id = z.id "
                "WHERE z.name = ?",
                (ZONE,),
            ).fetchall()
        finally:
            conn.close()
    return {str(name).rstrip(".").removesuffix(ZONE.rstrip(".")).rstrip(".") for (name,) in rows}


def chaos(lab: Lab) -> list[Figure]:
    a = lab.sandbox("a", dhcp=True)
    b = lab.sandbox("b")
    on_a, on_b = CentralApi(a), CentralApi(b)
    zone = on_a.post(
        "/api/v1/dns/zones",
        {"server_id": on_a.local_server("dns"), "name": ZONE, "kind": "primary"},
    )
    peer_id = pair(a, b, on_b, on_a)
    wait_for(lambda: snapshots(on_b, peer_id) or None, timeout=120, what="the first backup")
    path = f"/api/v1/dns/zones/{zone['id']}/changes"
    stop, kills = threading.Event(), Counter[str]()
    killer = threading.Thread(target=_killer, args=(a, b, stop, kills), daemon=True)
    acknowledged: list[str] = []
    refused: Counter[str] = Counter()
    started = time.monotonic()
    killer.start()
    try:
        for index in range(CHAOS_CHANGES):
            name = f"c{index}"
            # Like a script would: a change that got no answer, or 5xx, is sent again (after a
            # moment) until Central acknowledges it; one that an earlier try applied is then
            # refused as existing, and counted as applied but not acknowledged.
            deadline = time.monotonic() + RETRY_SECONDS
            while time.monotonic() < deadline:
                try:
                    body = {"changes": [record(name, "A", "198.51.100.9")]}
                    answer = on_a.call("POST", path, body)
                except httpx.HTTPError as exc:
                    refused[type(exc).__name__] += 1
                    time.sleep(0.2)
                    continue
                if answer.status_code == 200:
                    acknowledged.append(name)
                elif answer.status_code >= 500:
                    refused[str(answer.status_code)] += 1
                    time.sleep(0.2)
                    continue
                else:
                    refused[f"{answer.status_code} (applied by an earlier try)"] += 1
                break
            if index % 100 == 99:
                _log(f"{index + 1} changes, {len(acknowledged)} acknowledged, kills {dict(kills)}")
    finally:
        stop.set()
        killer.join(timeout=10)
    seconds = time.monotonic() - started
    _log(f"done in {seconds:.0f} s; not acknowledged: {dict(refused)}")
    a.wait_ready(timeout=180)
    wait_for(b.check_central, timeout=120, what="B's Central back")

    def all_at_peer() -> bool:
        try:
            status = on_a.get("/api/v1/appliance/backup-status")
        except (httpx.HTTPError, AssertionError):
            return False
        return bool(status["outbox"] == 0 and status["changes_not_at_peer"] == 0)

    wait_for(all_at_peer, timeout=300, interval=0.5, what="every change of A at B")
    served = {line.split()[0].removesuffix("." + ZONE) for line in axfr(a, ZONE)}
    missing_at_a = [n for n in acknowledged if n not in served]
    at_peer = _peer_records(on_b, peer_id)
    missing_at_b = [n for n in acknowledged if n not in at_peer]
    if missing_at_a or missing_at_b:
        _log(f"missing at A: {missing_at_a[:20]}; at B: {missing_at_b[:20]}")
    return [
        Figure("chaos", f"changes sent while programs were killed ({seconds:.0f} s)",
               CHAOS_CHANGES, ""),
        Figure("chaos", "changes acknowledged (200)", len(acknowledged), ""),
        Figure("chaos", "programs killed (" + ", ".join(f"{k} {v}" for k, v in
               sorted(kills.items())) + ")", sum(kills.values()), ""),
        Figure("chaos", "acknowledged changes missing at the appliance", len(missing_at_a), "",
               "0", at_most(len(missing_at_a), 0)),
        Figure("chaos", "acknowledged changes missing at the peer", len(missing_at_b), "",
               "0", at_most(len(missing_at_b), 0)),
    ]  # fmt: skip


def chaos_bench(_box: Sandbox) -> list[Figure]:
    with open_lab("bk") as lab:
        return chaos(lab)
