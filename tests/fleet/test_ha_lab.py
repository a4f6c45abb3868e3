"""Kea high availability between two appliances in one action: A joins B's fleet; B's Central
makes B's and A's DHCP servers a hot-standby pair (A gets B's scopes); a real dhclient gets a
lease from B, which A knows too; B's Kea stops; after the failover A gives a new client a lease
and the first client keeps its address; B's Kea returns and has A's leases; then the same
two in load-balancing (docs/dhcp.md)."""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest

from services.sandbox.lab import Lab
from tests.backups.appliance import CentralApi
from tests.fleet.test_secondaries_lab import _join
from tests.harness.dhcp import dhclient
from tests.harness.problems import assert_problem
from tests.harness.wait import wait_for

pytestmark = pytest.mark.sandbox
log = logging.getLogger(__name__)


def test_two_appliances_in_hot_standby(lab: Lab) -> None:
    a = lab.sandbox("a")
    b = lab.sandbox("b", dhcp=True)
    on_a, on_b = CentralApi(a), CentralApi(b)
    _join(on_a, on_b)

    def a_dhcp() -> int | None:
        items = on_b.get("/api/v1/servers?check=true&limit=1000")["items"]
        found = [s for s in items if s["kind"] == "dhcp" and s["address"] == a.address
                 and s["state"] == "reachable"]  # fmt: skip
        return int(found[0]["id"]) if found else None

    a_server = wait_for(a_dhcp, timeout=60, what="A's DHCP server reachable at B")
    b_server = on_b.local_server("dhcp")

    # Refused whole, naming the field; nothing changed.
    same = on_b.call("PUT", "/api/v1/dhcp/ha", {"primary": b_server, "partner": b_server})
    assert_problem(same, 422, "partner")
    assert on_b.call("GET", "/api/v1/dhcp/ha").status_code == 404

    pair = on_b.ok(on_b.call("PUT", "/api/v1/dhcp/ha", {
        "mode": "hot-standby", "primary": b_server, "partner": a_server, "comment": "ha-lab",
    }))  # fmt: skip
    assert [p["server_id"] for p in pair["partners"]] == [b_server, a_server]
    made = on_b.get("/api/v1/history?filter=comment:ha-lab&limit=50")["items"]
    assert {(c["object_type"], c["action"]) for c in made} == {
        ("dhcp-ha", "create"), ("dhcp-ha-pair", "create"),
    }, made  # fmt: skip
    assert "basic-auth-password" not in str(made) or "(hidden)" in str(made)

    def states() -> list[str | None]:
        return [p["state"] for p in on_b.get("/api/v1/dhcp/ha")["partners"]]

    wait_for(lambda: states() == ["hot-standby", "hot-standby"], timeout=60,
             what="both partners in hot-standby")  # fmt: skip

    # A reservation made on B through Central is made on A too.
    scope = on_b.get(f"/api/v1/dhcp/servers/{b_server}/v4/scopes")["items"][0]
    path = f"/api/v1/dhcp/servers/{{}}/v4/scopes/{scope['id']}/reservations"
    on_b.post(path.format(b_server), {"hw_address": "02:e2:e0:00:0a:09", "hostname": "ha-check"})
    on_a_scope = on_b.get(f"/api/v1/dhcp/servers/{a_server}/v4/scopes/{scope['id']}")
    assert [r["hostname"] for r in on_a_scope["reservations"]] == ["ha-check"]

    def lease_on(server: int, address: str) -> bool:
        found = on_b.get(f"/api/v1/dhcp/servers/{server}/v4/leases?address={address}")
        return bool(found["items"])

    first = lab.add_client("02:e2:e0:00:0a:01")
    taken = dhclient(first)
    assert taken["new_dhcp_server_identifier"] == b.address
    wait_for(lambda: lease_on(a_server, taken["new_ip_address"]), timeout=20,
             what="B's lease on A")  # fmt: skip

    # B's Kea stops: A takes over (partner-down) and serves.
    second = lab.add_client("02:e2:e0:00:0a:02")
    b.supervisor().call("supervisor.stopProcess", "kea-dhcp4")
    stopped = time.monotonic()
    try:
        wait_for(lambda: states()[1] == "partner-down", timeout=60, what="A in partner-down")
        given = dhclient(second)
        assert given["new_dhcp_server_identifier"] == a.address
        log.info("failover: %.1f s from B's Kea stopped to a lease from A",
                 time.monotonic() - stopped)  # fmt: skip
        again = dhclient(first)
        assert again["new_ip_address"] == taken["new_ip_address"]
        assert again["new_dhcp_server_identifier"] == a.address
    finally:
        b.supervisor().call("supervisor.startProcess", "kea-dhcp4")
    # B returns, takes A's leases (syncing) and the pair is back in hot-standby.
    wait_for(lambda: states() == ["hot-standby", "hot-standby"], timeout=90,
             what="both partners in hot-standby again")  # fmt: skip
    assert lease_on(b_server, given["new_ip_address"])

    # Load-balancing: the same two, both serving; a lease of either is on both.
    on_b.ok(on_b.call("DELETE", "/api/v1/dhcp/ha?comment=ha-lab-off"))
    on_b.ok(on_b.call("PUT", "/api/v1/dhcp/ha", {
        "mode": "load-balancing", "primary": b_server, "partner": a_server,
    }))  # fmt: skip
    wait_for(lambda: states() == ["load-balancing", "load-balancing"], timeout=60,
             what="both partners in load-balancing")  # fmt: skip
    third = dhclient(lab.add_client("02:e2:e0:00:0a:03"))
    assert third["new_dhcp_server_identifier"] in (a.address, b.address)
    wait_for(lambda: all(lease_on(s, third["new_ip_address"]) for s in (a_server, b_server)),
             timeout=20, what="the load-balanced lease on both")  # fmt: skip

    # Undone in one action: no HA hook left on either.
    removed = on_b.ok(on_b.call("DELETE", "/api/v1/dhcp/ha?comment=ha-lab-off"))
    assert removed == {"primary": b_server, "partner": a_server, "kept_hook": []}
    assert on_b.call("GET", "/api/v1/dhcp/ha").status_code == 404
    for server in (b_server, a_server):
        raw: dict[str, Any] = on_b.get(f"/api/v1/dhcp/servers/{server}/v4/config")["config"]
        hooks = [h["library"] for h in raw["Dhcp4"]["hooks-libraries"]]
        assert not any(h.endswith("libdhcp_ha.so") for h in hooks)
