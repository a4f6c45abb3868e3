"""Leases through Central against a real appliance: add, change, search, release, per pool.

Central → dhcp-agent (mTLS) → Kea; every change is in the history with who, before, after and
the save comment. The scopes are configuration only (the half of 198.51.100.0/24 the
sandbox's /27 is not in, and 2001:db8:: documentation space).
"""

from __future__ import annotations

from typing import Any

from services.sandbox.sandbox import Sandbox
from tests.central_dhcp.conftest import CentralDhcp
from tests.central_dhcp.test_dhcp_api import other_net
from tests.harness.problems import assert_problem


def _kea_lease(box: Sandbox, address: str, service: str = "dhcp4", **extra: Any) -> Any:
    command = "lease4-get" if service == "dhcp4" else "lease6-get"
    answer = box.kea(command, service, {"ip-address": address, **extra})
    return answer.get("arguments") if answer["result"] == 0 else None


def test_leases_added_changed_searched_and_released_with_history(
    cd_box: Sandbox, central: CentralDhcp
) -> None:
    net = other_net(cd_box)
    body = {"subnet": str(net), "pools": [{"start": str(net[10]), "end": str(net[29])}]}
    scope = central.ok(central.dhcp("POST", "/v4/scopes", body))
    reader = central.make_user("read-only")
    dhcp_admin = central.make_user("dhcp-admin")
    address = str(net[12])
    try:
        lease = {"address": address, "hw_address": "02:cd:10:00:00:01",
                 "hostname": "scanner.lab.example.", "comment": "the scanner"}  # fmt: skip
        assert_problem(central.dhcp("POST", "/v4/leases", lease, token=reader), 403)
        assert _kea_lease(cd_box, address) is None
        added = central.ok(central.dhcp("POST", "/v4/leases", lease, token=dhcp_admin))
        assert added["hostname"] == "scanner.lab.example" and added["subnet_id"] == scope["id"]
        assert _kea_lease(cd_box, address)["hw-address"] == "02:cd:10:00:00:01"
        again = central.dhcp("POST", "/v4/leases", lease)
        assert_problem(again, 409, "address")
        assert_problem(central.dhcp("POST", "/v4/leases", {"address": str(net[13])}), 422,
                       "hw_address")  # fmt: skip

        edit = {"hostname": "scanner2", "valid_lifetime": 1200, "comment": "renamed"}
        assert_problem(central.dhcp("PATCH", f"/v4/leases/{address}", edit, token=reader), 403)
        changed = central.ok(central.dhcp("PATCH", f"/v4/leases/{address}", edit))
        assert changed["hostname"] == "scanner2" and changed["valid_lifetime"] == 1200
        assert _kea_lease(cd_box, address)["hostname"] == "scanner2"

        prefix = address.rsplit(".", 1)[0] + "."
        for term in (f"address={prefix}", f"address={net}", "hw_address=02:cd:10",
                     "hostname=scan*", "hostname=SCANNER2"):  # fmt: skip
            found = central.ok(central.dhcp("GET", f"/v4/leases?{term}", token=reader))
            assert [x["address"] for x in found["items"]] == [address], term

        usage = central.ok(central.dhcp("GET", "/v4/statistics?pools=true", token=reader))
        mine = next(u for u in usage["items"] if u["subnet_id"] == scope["id"])
        assert [(p["pool"], p["total"], p["assigned"]) for p in mine["pools"]] == [
            (f"{net[10]} - {net[29]}", 20, 1)
        ]

        history = [h for h in central.history(object_type="dhcp-lease")
                   if h["object_id"] == f"{central.server_id}:v4:{address}"]  # fmt: skip
        by_action = {h["action"]: h for h in history}
        assert by_action["create"]["comment"] == "the scanner"
        assert by_action["create"]["before"] is None
        assert by_action["create"]["after"]["hostname"] == "scanner.lab.example"
        assert by_action["update"]["comment"] == "renamed"
        assert by_action["update"]["before"]["hostname"] == "scanner.lab.example"
        assert by_action["update"]["after"]["hostname"] == "scanner2"

        released = central.dhcp("DELETE", f"/v4/leases/{address}?comment=released")
        assert central.ok(released)["deleted"] is True
        assert _kea_lease(cd_box, address) is None
        gone = central.history(object_type="dhcp-lease", action="delete")
        assert gone[0]["comment"] == "released" and gone[0]["before"]["address"] == address
    finally:
        central.ok(central.dhcp("DELETE", f"/v4/scopes/{scope['id']}"))


def test_a_delegated_prefix_through_central(cd_box: Sandbox, central: CentralDhcp) -> None:
    body = {"subnet": "2001:db8:2::/64",
            "pools": [{"start": "2001:db8:2::100", "end": "2001:db8:2::1ff"}],
            "pd_pools": [{"prefix": "2001:db8:9000::/48", "delegated_len": 60}]}  # fmt: skip
    scope = central.ok(central.dhcp("POST", "/v6/scopes", body))
    try:
        lease = {"address": "2001:db8:9000:10::", "type": "IA_PD", "prefix_len": 60,
                 "duid": "00:03:00:01:02:cd:00:00:00:02", "iaid": 9,
                 "hostname": "cpe.lab.example."}  # fmt: skip
        added = central.ok(central.dhcp("POST", "/v6/leases", lease))
        assert added["prefix"] == "2001:db8:9000:10::/60" and added["subnet_id"] == scope["id"]
        found = central.ok(central.dhcp("GET", "/v6/leases?address=2001:db8:9000::/48"))
        assert [(x["address"], x["prefix_len"], x["hostname"]) for x in found["items"]] == [
            ("2001:db8:9000:10::", 60, "cpe.lab.example")
        ]
        usage = central.ok(central.dhcp("GET", "/v6/statistics?pools=true"))
        mine = next(u for u in usage["items"] if u["subnet_id"] == scope["id"])
        assert (mine["pd_total"], mine["pd_assigned"]) == (4096, 1)
        pd = [p for p in mine["pools"] if p["kind"] == "pd-pool"]
        assert [(p["pool"], p["delegated_len"], p["total"], p["assigned"]) for p in pd] == [
            ("2001:db8:9000::/48", 60, 4096, 1)
        ]
        assert central.ok(central.dhcp("DELETE", "/v6/leases/2001:db8:9000:10::"))["deleted"]
    finally:
        central.ok(central.dhcp("DELETE", f"/v6/scopes/{scope['id']}"))
