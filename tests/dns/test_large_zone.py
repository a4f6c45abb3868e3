"""Small changes to a large zone: planned on the agent's verified copy, never on a stale one."""

from __future__ import annotations

import dns.rcode
import pytest

from services.common.proc import run
from services.sandbox.sandbox import Sandbox
from tests.dns.conftest import Agent, answer_set, create, query

pytestmark = pytest.mark.sandbox

ZONE = "large.test."


def _transfers(box: Sandbox) -> int:
    """AXFRs of the zone named has served so far (named logs each one)."""
    text = (box.root.logs / "named.log").read_text(errors="replace")
    return sum(
        1 for line in text.splitlines() if "AXFR started" in line and "'large.test/IN'" in line
    )


def test_a_small_change_to_a_large_zone_needs_no_transfer_and_sees_outside_changes(
    agent: Agent, shared_sandbox: Sandbox
) -> None:
    box = shared_sandbox
    agent.create_zone(ZONE)
    bulk = [create(f"h{i}", "A", f"198.51.{100 + i // 250}.{i % 250 + 1}") for i in range(800)]
    agent.ok(agent.change(ZONE, bulk))
    agent.ok(agent.change(ZONE, [create("first", "A", "203.0.113.1")]))  # the copy is kept
    transfers = _transfers(box)
    for i in range(3):
        agent.ok(agent.change(ZONE, [create(f"quick{i}", "TXT", f'"change {i}"')]))
        assert answer_set(box, f"quick{i}.{ZONE}", "TXT")
    update = {
        "action": "update",
        "record": {"name": "h5", "type": "A", "data": "198.51.100.6"},
        "new": {"name": "h5", "type": "A", "ttl": 60, "data": "198.51.100.66"},
    }
    agent.ok(agent.change(ZONE, [update]))
    assert {rd.to_text() for rd in answer_set(box, f"h5.{ZONE}", "A")} == {"198.51.100.66"}
    assert _transfers(box) == transfers, "a small change transferred the whole zone"

    # A change made behind the agent's back moves the serial on: the copy is not used.
    script = (
        f"server 127.0.0.1\nzone {ZONE}\n"
        f"update add outside.{ZONE} 300 IN A 203.0.113.9\n"
        f"update delete h7.{ZONE} A\nsend\n"
    )
    run(
        ["ip", "netns", "exec", box.ns, "nsupdate", "-k", str(box.root.tsig_key)],
        input_text=script,
        timeout=20,
    )  # on the appliance: its key counts from 127.0.0.1 only
    duplicate = agent.change(ZONE, [create("outside", "A", "203.0.113.9")])
    assert duplicate.status_code == 422, duplicate.text
    assert "already exists" in duplicate.text
    missing = agent.change(ZONE, [{"action": "delete", "record": {
        "name": "h7", "type": "A", "data": "198.51.100.8"}}])  # fmt: skip
    assert missing.status_code == 422 and "no such record" in missing.text
    assert _transfers(box) > transfers

    # Whatever the agent kept, what it reads back is what named serves.
    records = agent.records(ZONE)["records"]
    names = {r["name"] for r in records}
    assert f"outside.{ZONE}" in names and f"h7.{ZONE}" not in names
    assert {f"quick{i}.{ZONE}" for i in range(3)} <= names
    assert len([r for r in records if r["type"] == "A" and r["name"].startswith("h")]) == 799
    assert query(box, f"h7.{ZONE}", "A").rcode() == dns.rcode.NXDOMAIN
    assert agent.http.delete(f"/zones/{ZONE}").status_code == 204
