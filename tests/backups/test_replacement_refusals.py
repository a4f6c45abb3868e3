"""What B refuses around a replacement, in a lab: no offer for an address B has no paired
peer for; approval with the wrong fingerprint or snapshot; a stored chunk tampered with at B
makes the restore fail with a clear error before anything is sent; a wrong restore code is
reported; dismissing with the code makes the replacement a new appliance.
"""

from __future__ import annotations

import time
from pathlib import Path

from services.sandbox.lab import Lab
from tests.backups.appliance import CentralApi
from tests.backups.lab_flow import (
    agent_fingerprint,
    appliance_state,
    approve,
    pair,
    set_detect_interval,
    snapshots,
    wait_finished,
    wait_offer,
)
from tests.harness.problems import assert_problem
from tests.harness.wait import wait_for


def _detection_rounds(on_b: CentralApi, peer_id: int, rounds: int) -> None:
    """Wait until B's detection has asked the paired address ``rounds`` more times."""
    for _ in range(rounds):
        before = on_b.get(f"/api/v1/backup-peers/{peer_id}")["last_check_at"]
        wait_for(
            lambda seen=before: (
                on_b.get(f"/api/v1/backup-peers/{peer_id}")["last_check_at"] != seen
            ),
            timeout=20,
            what="a detection round",
        )


def test_refusals_around_a_replacement(lab: Lab) -> None:
    a = lab.sandbox("a", dhcp=True)
    b = lab.sandbox("b")
    on_b = CentralApi(b)
    set_detect_interval(on_b, 1)
    peer_id = pair(a, b, on_b)
    wait_for(lambda: snapshots(on_b, peer_id) or None, timeout=60, what="the first backup")

    # an uninitialized appliance at an address no peer has: never offered
    d = lab.sandbox("d")
    assert appliance_state(d)["state"] == "uninitialized"
    _detection_rounds(on_b, peer_id, 3)
    assert on_b.get("/api/v1/replacements")["items"] == []

    a.stop(remove_root=True)
    a.root.root.mkdir()
    c = lab.sandbox("c", address=a.address, root_dir=a.root.root)
    offer = wait_offer(on_b, a.address)
    assert offer["fingerprint"] == agent_fingerprint(c)
    _detection_rounds(on_b, peer_id, 2)
    assert [o["address"] for o in on_b.get("/api/v1/replacements")["items"]] == [a.address]
    history = on_b.get("/api/v1/history?filter=object_type:replacement")["items"]
    assert [h["action"] for h in history] == ["offer"]

    # the wrong fingerprint (another appliance's) or snapshot: 422, nothing changes
    wrong = approve(on_b, offer, c, fingerprint=agent_fingerprint(d))
    assert_problem(wrong, 422, "fingerprint")
    missing = approve(on_b, offer, c, snapshot_id=999999)
    assert_problem(missing, 422, "snapshot_id")
    assert on_b.get("/api/v1/replacements")["items"][0]["state"] == "offered"

    # a chunk damaged at rest in B's store: the restore fails naming it, C is untouched
    store = b.root.lib / "backup-store" / str(peer_id) / "chunks"
    victim = max(store.glob("*/*"), key=lambda p: p.stat().st_size)
    original = victim.read_bytes()
    damaged = bytearray(original)
    damaged[len(damaged) // 2] ^= 0x40
    victim.write_bytes(bytes(damaged))
    answer = approve(on_b, offer, c)
    assert answer.status_code == 202, answer.text
    failed = wait_finished(on_b, offer["id"], timeout=60)
    assert failed["state"] == "failed"
    assert victim.name in failed["error"] and "tampered" in failed["error"], failed["error"]
    assert appliance_state(c)["state"] == "uninitialized"
    assert not (c.root.lib / "backup" / "restore" / "bundle").exists()
    _no_bundles_left(b.root.lib)

    # the chunk repaired; a wrong restore code: R refuses it, the offer fails saying so
    victim.write_bytes(original)
    answer = approve(on_b, offer, c, restore_code="WRONGCODE2")
    assert answer.status_code == 202, answer.text
    failed = wait_finished(on_b, offer["id"], timeout=60)
    assert failed["state"] == "failed" and "refused the restore code" in failed["error"], failed
    assert appliance_state(c)["state"] == "uninitialized"

    # "use as a new appliance": dismissed with C's code, C becomes active; no new offer
    code = appliance_state(c)["restore_code"]
    dismissed = on_b.call(
        "POST", f"/api/v1/replacements/{offer['id']}/dismiss", {"restore_code": code}
    )
    assert dismissed.status_code == 200, dismissed.text
    assert dismissed.json()["state"] == "dismissed"
    assert appliance_state(c)["state"] == "active"
    again = approve(on_b, offer, c)
    assert_problem(again, 409)
    _detection_rounds(on_b, peer_id, 2)
    offers = on_b.get("/api/v1/replacements")["items"]
    assert [(o["id"], o["state"]) for o in offers] == [(offer["id"], "dismissed")]
    history = on_b.get("/api/v1/history?filter=object_type:replacement&sort=id")["items"]
    assert [h["action"] for h in history] == [
        "offer", "approve", "fail", "approve", "fail", "dismiss",
    ]  # fmt: skip


def _no_bundles_left(lib: Path) -> None:
    deadline = time.monotonic() + 5
    while list((lib / "backup-store" / "tmp").glob("bundle-*")):
        assert time.monotonic() < deadline, "a bundle was left in B's store"
        time.sleep(0.1)
