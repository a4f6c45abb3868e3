"""Leases lose nothing: a client takes a lease a moment before its appliance is lost; at the
replacement it keeps its address, and a new client gets another one (no address is handed out
twice). Lease changes reach the peer within seconds of Kea writing them, with no configuration
change to carry them."""

from __future__ import annotations

import time

import pytest

from services.sandbox.lab import Lab
from tests.backups.appliance import CentralApi
from tests.backups.lab_flow import (
    appliance_state,
    approve,
    pair,
    set_detect_interval,
    snapshots,
    wait_finished,
    wait_offer,
)
from tests.harness.dhcp import dhclient
from tests.harness.wait import wait_for

pytestmark = pytest.mark.sandbox

#: How long after the lease the appliance is lost: a moment, well under a backup interval.
MOMENT = 3.0


def test_a_lease_taken_a_moment_before_the_loss_is_kept(lab: Lab) -> None:
    a = lab.sandbox("a", dhcp=True)
    b = lab.sandbox("b")
    on_a, on_b = CentralApi(a), CentralApi(b)
    set_detect_interval(on_b, 2)
    peer_id = pair(a, b, on_b, on_a)
    wait_for(lambda: snapshots(on_b, peer_id) or None, timeout=60, what="the first backup")

    def quiet() -> dict[str, int] | None:
        status = on_a.get("/api/v1/appliance/backup-status")
        done = status["outbox"] == 0 and status["changes_stored"] == status["changes"]
        return status if done else None

    # Every change of A's Central is at B: from here only Kea's lease file moves.
    before = wait_for(quiet, timeout=60, what="A's changes all at B")
    time.sleep(2)
    first = lab.add_client("02:e2:e0:00:01:01")
    taken = dhclient(first)["new_ip_address"]
    time.sleep(MOMENT)
    after = on_a.get("/api/v1/appliance/backup-status")
    assert after["changes"] == before["changes"], "a change of Central carried the lease"
    a.stop(remove_root=True)

    a.root.root.mkdir()
    c = lab.sandbox("c", address=a.address, dhcp=True, root_dir=a.root.root)
    offer = wait_offer(on_b, a.address)
    answer = approve(on_b, offer, c)
    assert answer.status_code == 202, answer.text
    final = wait_finished(on_b, offer["id"])
    assert final["state"] == "restored", f"{final['step']}: {final['error']}"
    c.wait_ready(timeout=120)
    assert appliance_state(c)["state"] == "active"

    # A new client asks first: the replacement knows the lease, so it offers another address
    # (a replacement without it would offer the lowest free one: the first client's) ...
    second = lab.add_client("02:e2:e0:00:01:02")
    other = dhclient(second)["new_ip_address"]
    assert other != taken
    # ... and the first client asks again and keeps its address, now from the replacement.
    again = dhclient(first)
    assert again["new_ip_address"] == taken
    assert again["new_dhcp_server_identifier"] == a.address
