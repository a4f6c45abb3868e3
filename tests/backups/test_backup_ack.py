"""Acknowledged means safe: every change's answer says whether it is at the backup peer, and
with ``wait_for_backup`` (or the setting) Central answers only once it is; the API and the
diagnostic shell count the changes not yet at the peer."""

from __future__ import annotations

import json
import time

import pytest

from services.common.backup.files import status_file as backup_status_file
from services.sandbox.lab import Lab
from tests.backups.appliance import CentralApi, record
from tests.backups.lab_flow import pair, snapshots
from tests.harness.wait import wait_for

pytestmark = pytest.mark.sandbox


def test_a_change_answered_when_safe_and_counted_when_not(lab: Lab) -> None:
    a = lab.sandbox("a", dhcp=True)
    b = lab.sandbox("b")
    on_a, on_b = CentralApi(a), CentralApi(b)

    # Not paired yet: the answer says so and nothing waits.
    zone = on_a.call("POST", "/api/v1/dns/zones?wait_for_backup=true",
                     {"server_id": on_a.local_server("dns"), "name": "ack.test.",
                      "kind": "primary"})  # fmt: skip
    assert zone.status_code == 201, zone.text
    assert zone.headers["X-Burrow-Backup"] == "not-paired"
    zone_id = zone.json()["id"]

    peer_id = pair(a, b, on_b, on_a)
    wait_for(lambda: snapshots(on_b, peer_id) or None, timeout=120, what="the first backup")

    # Asked to wait: the answer comes once a snapshot holding the change is at B.
    changes = f"/api/v1/dns/zones/{zone_id}/changes"
    before = len(snapshots(on_b, peer_id))
    answer = on_a.call("POST", changes + "?wait_for_backup=true",
                       {"changes": [record("safe", "A", "198.51.100.77")]})  # fmt: skip
    assert answer.status_code == 200, answer.text
    assert answer.headers["X-Burrow-Backup"] == "stored"
    assert len(snapshots(on_b, peer_id)) > before  # already there when the answer came
    status = on_a.get("/api/v1/appliance/backup-status")
    assert status["changes_not_at_peer"] == 0 and status["changes"] >= 2

    # Not asked: the answer comes at once and says where the change is.
    answer = on_a.call("POST", changes, {"changes": [record("quick", "A", "198.51.100.78")]})
    assert answer.headers["X-Burrow-Backup"] in ("pending", "stored")

    # The setting makes waiting the default; a request may still say no.
    wanted = {"backup_wait_for_peer": True, "backup_wait_timeout_seconds": 5}
    settings = on_a.call("PATCH", "/api/v1/settings", wanted)
    assert settings.status_code == 200, settings.text
    time.sleep(2.5)  # Central rereads its settings every 2 s
    answer = on_a.call("POST", changes, {"changes": [record("dflt", "A", "198.51.100.79")]})
    assert answer.headers["X-Burrow-Backup"] == "stored"

    # The peer gone: the wait ends at the latest after its timeout (at once when the producer
    # already knows the peer is unreachable); the change is applied all the same and counted
    # as not yet at the peer.
    b.stop()
    started = time.monotonic()
    answer = on_a.call("POST", changes, {"changes": [record("gone", "A", "198.51.100.80")]})
    assert answer.status_code == 200, answer.text
    assert answer.headers["X-Burrow-Backup"] == "pending"
    assert time.monotonic() - started < 5 + 3
    wait_for(lambda: on_a.get("/api/v1/appliance/backup-status")["last_error"] or None,
             timeout=60, what="A's producer noticing the peer is gone")  # fmt: skip
    started = time.monotonic()
    answer = on_a.call("POST", changes, {"changes": [record("gone2", "A", "198.51.100.81")]})
    assert answer.headers["X-Burrow-Backup"] == "pending"
    assert time.monotonic() - started < 2  # no wait once the peer is known to be unreachable
    assert a.dns_query("gone.ack.test.").answer
    status = on_a.get("/api/v1/appliance/backup-status")
    assert status["changes_not_at_peer"] >= 1
    # The diagnostic shell's `backup` prints this file key by key.
    on_disk = json.loads(backup_status_file(a.root).read_text())
    assert on_disk["changes_not_at_peer"] >= 1
