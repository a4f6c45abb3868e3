"""Issue 7 end to end, three appliances on one lab network: A backs up to B; A is destroyed;
C comes up on A's address with a fresh root; B detects it, an administrator approves, and C
becomes A: the same zones (AXFR), Kea configuration, active leases, network additions and
Central objects, users and history; a DHCP client asking again keeps its address.
"""

from __future__ import annotations

import ipaddress
import json
from typing import Any

from services.common.proc import run
from services.sandbox.lab import Lab
from services.sandbox.sandbox import Sandbox
from tests.backups.appliance import (
    CentralApi,
    active_leases,
    axfrs,
    central_objects,
    kea_config,
    populate,
    record,
)
from tests.backups.lab_flow import (
    appliance_state,
    approve,
    last_change_at,
    pair,
    set_detect_interval,
    snapshots,
    wait_finished,
    wait_offer,
    wait_stored_after,
)
from tests.harness.dhcp import dhclient
from tests.harness.wait import wait_for


def _other_network(box: Sandbox) -> ipaddress.IPv4Network:
    """Configured only (an extra address and a route), never used for traffic."""
    mine = box.network.subnet_of(ipaddress.IPv4Network("198.51.100.0/24"))
    return ipaddress.IPv4Network("203.0.113.0/24" if mine else "198.51.100.0/24")


def _network(box: Sandbox) -> tuple[set[str], set[str]]:
    addresses = json.loads(run(["ip", "-j", "-4", "addr", "show"], netns=box.ns).stdout)
    routes = json.loads(run(["ip", "-j", "-4", "route", "show"], netns=box.ns).stdout)
    return (
        {f"{a['local']}/{a['prefixlen']}" for i in addresses for a in i["addr_info"]},
        {f"{r['dst']} via {r.get('gateway', '-')}" for r in routes},
    )


def _differences(left: Any, right: Any, path: str = "") -> list[str]:
    """Where two JSON values differ (for a readable assertion message)."""
    if isinstance(left, dict) and isinstance(right, dict):
        out = []
        for key in sorted(set(left) | set(right)):
            out += _differences(left.get(key), right.get(key), f"{path}.{key}")
        return out
    if isinstance(left, list) and isinstance(right, list) and len(left) == len(right):
        return [d for i, (x, y) in enumerate(zip(left, right, strict=True))
                for d in _differences(x, y, f"{path}[{i}]")]  # fmt: skip
    return [] if left == right else [f"{path}: {left!r} != {right!r}"]


def _observe(box: Sandbox, api: CentralApi) -> dict[str, Any]:
    config = json.dumps(kea_config(box)).replace(str(box.root.root), "ROOT")
    return {
        "axfr": axfrs(api),
        "kea": json.loads(config),
        "leases": active_leases(box),
        "central": central_objects(api),
        "network": _network(box),
    }


def test_replacement_on_a_lost_appliances_address_becomes_it(lab: Lab) -> None:
    a = lab.sandbox("a", dhcp=True)
    b = lab.sandbox("b")
    on_a, on_b = CentralApi(a), CentralApi(b)
    set_detect_interval(on_b, 2)

    # A's network settings: an extra address and a route, made through A's Central
    other = _other_network(a)
    extra, route = f"{other[250]}/32", f"{other[224]}/28"
    on_a.ok(
        on_a.call(
            "PUT",
            "/api/v1/appliance/network",
            {
                "extra_addresses": [extra],
                "routes": [{"destination": route, "gateway": lab.host_address}],
                "comment": "a service address and a route",
            },
        )
    )

    peer_id = pair(a, b, on_b, on_a)
    wait_for(lambda: snapshots(on_b, peer_id) or None, timeout=60, what="the first full backup")

    # leases given to real clients: one reserved, one from the pool
    populate(on_a, a)
    reserved = lab.add_client("02:e2:e0:00:00:01")
    dynamic = lab.add_client("02:e2:e0:00:00:02")
    leases = {mac: dhclient(c)["new_ip_address"] for mac, c in
              (("02:e2:e0:00:00:01", reserved), ("02:e2:e0:00:00:02", dynamic))}  # fmt: skip
    assert leases["02:e2:e0:00:00:01"] == str(a.network[25])

    # every change on A is backed up at B on its own
    zone_id = on_a.get("/api/v1/dns/zones?filter=name:types.e2e.test.")["items"][0]["id"]
    for index in range(3):
        on_a.post(
            f"/api/v1/dns/zones/{zone_id}/changes",
            {"changes": [record(f"change{index}", "A", f"198.51.100.{100 + index}")],
             "comment": f"change {index}"},
        )  # fmt: skip
        wait_stored_after(on_b, peer_id, last_change_at(on_a), timeout=15)

    # B's Central down: A's changes wait in its outbox and reach B when it is back
    b.supervisor().call("supervisor.stopProcess", "central")
    try:
        on_a.post(
            f"/api/v1/dns/zones/{zone_id}/changes",
            {"changes": [record("while-b-down", "TXT", '"queued"')], "comment": "B is down"},
        )
        moment = last_change_at(on_a)
        wait_for(
            lambda: on_a.get("/api/v1/appliance/backup-status")["outbox"] >= 1 or None,
            timeout=15,
            what="the change waiting in A's outbox",
        )
    finally:
        b.supervisor().call("supervisor.startProcess", "central")
    wait_for(b.check_central, timeout=60, what="B's Central back")
    stored = wait_stored_after(on_b, peer_id, moment, timeout=120)

    before = _observe(a, on_a)
    assert (
        extra in before["network"][0] and f"{route} via {lab.host_address}" in before["network"][1]
    )
    assert set(before["leases"]) == set(leases.values())
    a_identity = appliance_state(a)
    # whatever A's Central committed last (a sync may add entries) is stored at B too
    wait_stored_after(on_b, peer_id, last_change_at(on_a), timeout=30)

    a.stop(remove_root=True)  # destroyed: nothing of A is left to read
    assert not a.root.root.exists()
    # C: a fresh, empty state root. A real appliance's root is always "/"; here C gets the
    # path A had (now empty), because restored configurations name absolute paths.
    a.root.root.mkdir()
    c = lab.sandbox("c", address=a.address, dhcp=True, root_dir=a.root.root)
    assert appliance_state(c)["state"] == "uninitialized"
    assert appliance_state(c)["appliance_id"] != a_identity["appliance_id"]
    offer = wait_offer(on_b, a.address)
    assert offer["peer_id"] == peer_id and offer["state"] == "offered"
    code_used = appliance_state(c)["restore_code"]
    answer = approve(on_b, offer, c)
    assert answer.status_code == 202, answer.text
    final = wait_finished(on_b, offer["id"])
    assert final["state"] == "restored", f"{final['step']}: {final['error']}"
    # B's last step says where the time went: its packing and sending, and C's own steps.
    assert final["step"].startswith("done in ") and "sent and checked in" in final["step"]
    assert "the appliance is restored in" in final["step"], final["step"]
    c.wait_ready(timeout=120)
    # The code the restore was made with is spent; the server list, checked now, is healthy.
    assert appliance_state(c)["restore_code"] != code_used
    servers = CentralApi(c).get("/api/v1/servers?check=true")["items"]
    assert servers and all(s["state"] not in ("unreachable", "untrusted") for s in servers)

    on_c = CentralApi(c)
    after = _observe(c, on_c)
    assert after["axfr"] == before["axfr"]
    assert after["kea"] == before["kea"], _differences(before["kea"], after["kea"])
    assert after["leases"] == before["leases"]
    assert extra in after["network"][0]
    assert f"{route} via {lab.host_address}" in after["network"][1]
    for key in ("zones", "records", "users", "scopes", "classes"):
        assert after["central"][key] == before["central"][key], key
    history = after["central"]["history"]
    assert history[: len(before["central"]["history"])] == before["central"]["history"]
    assert appliance_state(c)["appliance_id"] == a_identity["appliance_id"]
    assert appliance_state(c)["state"] == "active"
    # C's own history says it was restored: from which snapshot, approved by whom, when.
    restored = on_c.get("/api/v1/history?filter=object_type:appliance&sort=-id")["items"]
    entry = next(h for h in restored if h["action"] == "restore")
    assert entry["actor"] == "system"
    assert entry["after"]["snapshot_id"] == str(final["snapshot_id"])
    assert entry["after"]["approved_by"] and entry["after"]["approved_at"]
    assert entry["after"]["restored_from"] == b.address
    assert f"approved by {entry['after']['approved_by']}" in entry["comment"]

    # a DHCP client asking again keeps its address, now from C
    again = dhclient(dynamic)
    assert again["new_ip_address"] == leases["02:e2:e0:00:00:02"]
    assert again["new_dhcp_server_identifier"] == a.address

    # B: the restore is in its history; C backs up again as A, starting with a full one
    changes = on_b.get("/api/v1/history?filter=object_type:replacement&sort=id")["items"]
    assert [h["action"] for h in changes] == ["offer", "approve", "restore"]
    wait_for(
        lambda: [s for s in snapshots(on_b, peer_id) if s["id"] > stored["id"]
                 and s["kind"] == "full"] or None,
        timeout=60,
        what="C's first full backup as A",
    )  # fmt: skip
    peer = on_b.ok(on_b.call("POST", f"/api/v1/backup-peers/{peer_id}/check", {}))
    assert peer["identity"]["appliance_id"] == a_identity["appliance_id"]
    assert peer["identity"]["fingerprint"] == peer["agent_fingerprint"]
    assert len(on_b.get("/api/v1/replacements")["items"]) == 1
