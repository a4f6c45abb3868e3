"""Pairing across a lab network (real addresses): a pairing token is bound to the address of
the appliance it was made for, and only a request from that address pairs with it.

The pairing request is made here from inside each appliance's namespace with curl, as the
appliance-agent would make it (its own client is tested in tests/backup_appliance).
"""

from __future__ import annotations

import json
from typing import Any

from services.common.proc import run
from services.sandbox.lab import Lab
from services.sandbox.sandbox import Sandbox
from tests.backups.appliance import CentralApi, active_leases, axfrs, central_objects, populate


def _pair_from(box: Sandbox, peer: Sandbox, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """POST /api/v1/backup-peers/pair from inside ``box``'s namespace; status and body."""
    out = run(
        ["curl", "-sS", "--cacert", str(peer.ca_file), "-H", "Content-Type: application/json",
         "-w", "\n%{http_code}", "--data-binary", "@-",
         f"https://{peer.address}:1231/api/v1/backup-peers/pair"],
        netns=box.ns,
        input_text=json.dumps(body),
    ).stdout  # fmt: skip
    text, _, status = out.rpartition("\n")
    return int(status), json.loads(text)


def test_a_pairing_token_pairs_only_from_its_address(lab: Lab) -> None:
    a = lab.sandbox("a", dhcp=True)
    b = lab.sandbox("b")
    c = lab.sandbox("c")
    on_b = CentralApi(b)
    token = on_b.post("/api/v1/backup-peers/pairing-tokens", {"address": a.address, "comment": "A"})
    body = {
        "token": token["token"],
        "appliance_id": json.loads((a.root.lib / "appliance-state.json").read_text())[
            "appliance_id"
        ],
        "hostname": "a",
        "address": a.address,
        "agent_certificate": (a.root.pki / "appliance-agent.crt").read_text(),
    }
    status, problem = _pair_from(c, b, {**body, "address": c.address})
    assert status == 403, problem
    assert a.address in problem["detail"] and c.address in problem["detail"]
    status, paired = _pair_from(a, b, body)
    assert status == 200, paired
    peers = on_b.get("/api/v1/backup-peers")["items"]
    assert [(p["address"], p["appliance_id"]) for p in peers] == [(a.address, body["appliance_id"])]
    status, problem = _pair_from(a, b, body)
    assert status == 401, problem  # one-time

    # the detection asks A's address: A answers as the paired appliance, so no offer
    checked = on_b.post(f"/api/v1/backup-peers/{paired['peer_id']}/check", {})
    assert checked["reachable"] is True, checked
    assert checked["identity"]["appliance_id"] == body["appliance_id"]
    assert on_b.get("/api/v1/replacements")["items"] == []


def test_populated_appliance_reads_back_the_same_twice(lab: Lab) -> None:
    a = lab.sandbox("a", dhcp=True)
    api = CentralApi(a)
    made = populate(api, a)
    client = lab.add_client("02:e2:e0:00:00:01")
    from tests.harness.dhcp import dhclient

    lease = dhclient(client)
    assert lease["new_ip_address"] == str(a.network[25])
    first = (axfrs(api), central_objects(api), active_leases(a))
    second = (axfrs(api), central_objects(api), active_leases(a))
    assert first == second
    assert "types.e2e.test." in first[0]
    assert made["user"]["username"] in [u for u, _ in first[1]["users"]]
    assert first[2] == {str(a.network[25]): "02:e2:e0:00:00:01"}
