"""Lifetimes and timers through Central: one check for create and update naming the field
the caller sent; a scope holds only what was set on it, and a server-wide change reaches every
scope that did not set its own. Round trips: a DHCPv6 scope put back as GET answered it keeps
its prefix reservations (Kea's configuration hash unchanged)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from services.sandbox.sandbox import Sandbox
from tests.central_dhcp.conftest import CentralDhcp, kea_config
from tests.harness.problems import assert_problem

pytestmark = pytest.mark.sandbox


def _subnet(box: Sandbox, service: str, subnet: str) -> dict[str, Any]:
    key = "Dhcp4" if service == "dhcp4" else "Dhcp6"
    entries = kea_config(box, service)[key]["subnet4" if key == "Dhcp4" else "subnet6"]
    found: dict[str, Any] = next(e for e in entries if e["subnet"] == subnet)
    return found


def _hash(box: Sandbox, service: str) -> str:
    return hashlib.sha256(json.dumps(kea_config(box, service), sort_keys=True).encode()).hexdigest()


def test_lifetimes_inherited_and_checked_once(cd_box: Sandbox, central: CentralDhcp) -> None:
    props = central.ok(central.dhcp("GET", "/v4/properties"))
    server = {"valid_lifetime": 4000, "renew_timer": 1000, "rebind_timer": 2000}
    central.ok(central.dhcp("PATCH", "/v4/properties", server))
    made: list[int] = []
    try:
        # valid_lifetime 600 under the server's timers 1000/2000: Kea takes it (leaving the
        # longer timers out of its answers), and the scope shows only what was set
        short = {"subnet": "198.18.210.0/24", "valid_lifetime": 600}
        first = central.ok(central.dhcp("POST", "/v4/scopes", short))
        made.append(first["id"])
        shown = central.ok(central.dhcp("GET", f"/v4/scopes/{first['id']}"))
        assert {k: shown.get(k) for k in short} == short
        for inherited in ("renew_timer", "rebind_timer", "min_valid_lifetime", "extra"):
            assert inherited not in shown, shown
        # a later reservation is not refused over lifetimes the caller never sent
        reservation = {"hw_address": "02:00:5e:00:53:10", "ip_addresses": ["198.18.210.10"]}
        central.ok(central.dhcp("POST", f"/v4/scopes/{first['id']}/reservations", reservation))
        # a scope that sets nothing inherits, and a server-wide change reaches it
        second = central.ok(central.dhcp("POST", "/v4/scopes", {"subnet": "198.18.211.0/24"}))
        made.append(second["id"])
        assert "valid_lifetime" not in second
        central.ok(central.dhcp("PATCH", "/v4/properties", {"valid_lifetime": 7200}))
        assert _subnet(cd_box, "dhcp4", "198.18.211.0/24")["valid-lifetime"] == 7200
        assert _subnet(cd_box, "dhcp4", "198.18.210.0/24")["valid-lifetime"] == 600
        # and after that still: a change of the scope, and a second server-wide change
        shown = central.ok(central.dhcp("GET", f"/v4/scopes/{second['id']}"))
        central.ok(central.dhcp("PUT", f"/v4/scopes/{second['id']}",
                                {**shown, "options": [{"name": "routers",
                                                       "data": "198.18.211.1"}]}))  # fmt: skip
        central.ok(central.dhcp("PATCH", "/v4/properties", {"valid_lifetime": 9000}))
        assert _subnet(cd_box, "dhcp4", "198.18.211.0/24")["valid-lifetime"] == 9000
        # an update is checked the same way as a create
        shown = central.ok(central.dhcp("GET", f"/v4/scopes/{first['id']}"))
        bad = {**shown, "renew_timer": 200, "rebind_timer": 700}
        answer = central.dhcp("PUT", f"/v4/scopes/{first['id']}", bad)
        problem = assert_problem(answer, 422, "rebind_timer")
        assert "valid_lifetime: 600" in problem["detail"]
        new = {"subnet": "198.18.212.0/24", "valid_lifetime": 600, "renew_timer": 200,
               "rebind_timer": 700}  # fmt: skip
        assert_problem(central.dhcp("POST", "/v4/scopes", new), 422, "rebind_timer")
    finally:
        for scope_id in made:
            central.dhcp("DELETE", f"/v4/scopes/{scope_id}")
        keep = {k: props[k] for k in ("valid_lifetime", "renew_timer", "rebind_timer")
                if k in props}  # fmt: skip
        central.ok(central.dhcp("PATCH", "/v4/properties", keep or server))


def test_v6_prefix_reservation_survives_a_scope_put_back(
    cd_box: Sandbox, central: CentralDhcp
) -> None:
    subnet = "3fff:ffff:210::/64"
    scope = central.ok(central.dhcp("POST", "/v6/scopes", {"subnet": subnet}))
    try:
        duid = "00:03:00:01:02:00:5e:00:53:20"
        reservation = {"duid": duid, "prefixes": ["3fff:ffff:2100::/56"],
                       "ip_addresses": ["3fff:ffff:210::20"]}  # fmt: skip
        central.ok(central.dhcp("PUT", f"/v6/scopes/{scope['id']}/reservations/duid/{duid}",
                                reservation))  # fmt: skip
        entry = _subnet(cd_box, "dhcp6", subnet)
        assert entry["reservations"][0]["prefixes"] == ["3fff:ffff:2100::/56"]
        before = _hash(cd_box, "dhcp6")
        shown = central.ok(central.dhcp("GET", f"/v6/scopes/{scope['id']}"))
        assert shown["reservations"][0]["prefixes"] == ["3fff:ffff:2100::/56"]
        central.ok(central.dhcp("PUT", f"/v6/scopes/{scope['id']}", shown))
        assert _hash(cd_box, "dhcp6") == before
        # a prefix reservation on a DHCPv4 scope is refused naming the field
        v4 = {"hw_address": "02:00:5e:00:53:21", "prefixes": ["3fff:ffff:2200::/56"]}
        answer = central.dhcp("PUT", "/v4/reservations/hw_address/02:00:5e:00:53:21", v4)
        assert_problem(answer, 422, "prefixes")
    finally:
        central.dhcp("DELETE", f"/v6/scopes/{scope['id']}")
