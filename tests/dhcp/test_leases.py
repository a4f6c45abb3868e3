"""Leases through the dhcp-agent against real Kea: add, change, search, statistics per pool.

The scopes are configuration only (the half of 198.51.100.0/24 the sandbox's /27 is not in,
and 2001:db8:: documentation space): the leases are added through the agent, not served.
"""

from __future__ import annotations

from typing import Any

from services.sandbox.sandbox import Sandbox
from tests.dhcp.conftest import Agent
from tests.dhcp.test_changes import other_net
from tests.harness.problems import assert_problem


def _kea_lease(box: Sandbox, address: str, service: str = "dhcp4", **extra: Any) -> Any:
    command = "lease4-get" if service == "dhcp4" else "lease6-get"
    answer = box.kea(command, service, {"ip-address": address, **extra})
    return answer.get("arguments") if answer["result"] == 0 else None


def _addresses(found: list[dict[str, Any]]) -> list[str]:
    return sorted(x["address"] for x in found)


def test_v4_leases_added_changed_searched_and_counted_per_pool(
    dhcp_box: Sandbox, agent: Agent
) -> None:
    net = other_net(dhcp_box)
    pools = [{"start": str(net[10]), "end": str(net[19])},
             {"start": str(net[20]), "end": str(net[59])}]  # fmt: skip
    scope = {"subnet": str(net), "pools": pools}
    with agent.scope("v4", scope) as made:
        for n in range(10, 14):
            body = {"address": str(net[n]), "hw_address": f"02:aa:bb:00:00:{n:02x}",
                    "hostname": f"printer{n}.lab.example."}  # fmt: skip
            lease = agent.ok(agent.post("/v4/leases", json=body))
            assert lease["hostname"] == f"printer{n}.lab.example"  # no trailing dot
            assert lease["subnet_id"] == made["id"]
        other = {"address": str(net[25]), "hw_address": "02:cc:00:00:00:01", "hostname": "desk"}
        agent.ok(agent.post("/v4/leases", json=other))
        assert _kea_lease(dhcp_box, str(net[25]))["hw-address"] == "02:cc:00:00:00:01"

        # refusals name the field and change nothing
        again = agent.post("/v4/leases", json=other)
        assert_problem(again, 409, "address")
        no_mac = agent.post("/v4/leases", json={"address": str(net[30])})
        assert_problem(no_mac, 422, "hw_address")
        v6_field = agent.post("/v4/leases", json={**other, "address": str(net[31]), "iaid": 1})
        assert_problem(v6_field, 422, "iaid")
        outside = {"address": "198.18.0.1", "hw_address": "02:cc:00:00:00:02"}
        assert_problem(agent.post("/v4/leases", json=outside), 422)
        assert _kea_lease(dhcp_box, "198.18.0.1") is None
        assert _kea_lease(dhcp_box, str(net[30])) is None

        # a change names only what changes
        edit = {"hostname": "desk2", "valid_lifetime": 900}
        changed = agent.ok(agent.patch(f"/v4/leases/{net[25]}", json=edit))
        assert changed["hostname"] == "desk2" and changed["valid_lifetime"] == 900
        assert changed["hw_address"] == "02:cc:00:00:00:01"
        kea = _kea_lease(dhcp_box, str(net[25]))
        assert kea["hostname"] == "desk2" and kea["valid-lft"] == 900
        missing = agent.patch(f"/v4/leases/{net[40]}", json={"hostname": "x"})
        assert_problem(missing, 404, "address")

        def search(**terms: Any) -> list[str]:
            return _addresses(agent.ok(agent.get("/v4/leases/search", params=terms)))

        prefix = str(net[10]).rsplit(".", 1)[0] + "."
        assert search(address=prefix) == _addresses(
            [{"address": str(net[n])} for n in (10, 11, 12, 13, 25)]
        )
        assert search(address=f"{net[8]}/29") == [str(net[n]) for n in (10, 11, 12, 13)]
        assert search(address=str(net[11])) == [str(net[11])]
        assert search(address=prefix, limit=2) == [str(net[10]), str(net[11])]
        assert search(hw_address="02:aa:bb") == [str(net[n]) for n in (10, 11, 12, 13)]
        assert search(hw_address="02AABB00000C") == [str(net[12])]
        assert search(hostname="printer12.lab.example") == [str(net[12])]
        assert search(hostname="printer12.lab.example.") == [str(net[12])]
        assert search(hostname="printer1*") == [str(net[n]) for n in (10, 11, 12, 13)]
        assert search(hostname="*LAB*") == [str(net[n]) for n in (10, 11, 12, 13)]
        assert search(hostname="desk*") == [str(net[25])]
        assert_problem(agent.get("/v4/leases/search", params={"address": "nope"}), 422,
                       "address")  # fmt: skip

        usage = agent.ok(agent.get("/v4/statistics", params={"pools": "true"}))
        mine = next(u for u in usage if u["subnet_id"] == made["id"])
        assert (mine["total"], mine["assigned"]) == (50, 5)
        pools = [(p["kind"], p["pool"], p["total"], p["assigned"]) for p in mine["pools"]]
        assert pools == [("pool", f"{net[10]} - {net[19]}", 10, 4),
                         ("pool", f"{net[20]} - {net[59]}", 40, 1)]  # fmt: skip
        assert mine["pools"][0]["utilisation"] == 0.4
        plain = agent.ok(agent.get("/v4/statistics"))
        assert next(u for u in plain if u["subnet_id"] == made["id"])["pools"] is None


def test_v6_leases_and_delegated_prefixes(dhcp_box: Sandbox, agent: Agent) -> None:
    scope = {"subnet": "2001:db8:1::/64",
             "pools": [{"start": "2001:db8:1::100", "end": "2001:db8:1::1ff"}],
             "pd_pools": [{"prefix": "2001:db8:8000::/48", "delegated_len": 56}]}  # fmt: skip
    with agent.scope("v6", scope) as made:
        address = {"address": "2001:db8:1::110", "duid": "00:03:00:01:02:aa:00:00:00:01",
                   "iaid": 1, "hostname": "router.lab.example."}  # fmt: skip
        lease = agent.ok(agent.post("/v6/leases", json=address))
        assert lease["type"] == "IA_NA" and lease["prefix_len"] is None
        assert lease["hostname"] == "router.lab.example"
        prefix = {"address": "2001:db8:8000:100::", "type": "IA_PD", "prefix_len": 56,
                  "duid": "00:03:00:01:02:aa:00:00:00:01", "iaid": 2}  # fmt: skip
        delegated = agent.ok(agent.post("/v6/leases", json=prefix))
        assert delegated["type"] == "IA_PD" and delegated["prefix_len"] == 56
        assert delegated["prefix"] == "2001:db8:8000:100::/56"
        no_len = {**prefix, "address": "2001:db8:8000:200::", "prefix_len": None}
        assert_problem(agent.post("/v6/leases", json=no_len), 422, "prefix_len")
        assert_problem(agent.post("/v6/leases", json={"address": "2001:db8:1::111"}), 422,
                       "duid")  # fmt: skip

        changed = agent.ok(agent.patch("/v6/leases/2001:db8:8000:100::",
                                       json={"valid_lifetime": 7000,
                                             "preferred_lifetime": 3000}))  # fmt: skip
        assert changed["prefix_len"] == 56 and changed["valid_lifetime"] == 7000
        kea = _kea_lease(dhcp_box, "2001:db8:8000:100::", "dhcp6", type="IA_PD")
        assert kea["valid-lft"] == 7000 and kea["prefix-len"] == 56

        found = agent.ok(agent.get("/v6/leases/search", params={"address": "2001:db8:8000::/48"}))
        assert [(x["address"], x["prefix_len"]) for x in found] == [("2001:db8:8000:100::", 56)]
        by_duid = agent.ok(agent.get("/v6/leases/search",
                                     params={"duid": "00:03:00:01:02:aa:00:00:00:01"}))  # fmt: skip
        assert sorted(x["type"] for x in by_duid) == ["IA_NA", "IA_PD"]
        by_name = agent.ok(agent.get("/v6/leases/search", params={"hostname": "router*"}))
        assert [x["address"] for x in by_name] == ["2001:db8:1::110"]
        text = agent.ok(agent.get("/v6/leases/search", params={"address": "2001:db8:1::1"}))
        assert text == []  # a whole address: that one only

        usage = agent.ok(agent.get("/v6/statistics", params={"pools": "true"}))
        mine = next(u for u in usage if u["subnet_id"] == made["id"])
        assert (mine["assigned"], mine["pd_total"], mine["pd_assigned"]) == (1, 256, 1)
        pools = [(p["kind"], p["pool"], p["delegated_len"], p["total"], p["assigned"])
                 for p in mine["pools"]]  # fmt: skip
        assert pools == [("pool", "2001:db8:1::100 - 2001:db8:1::1ff", None, 256, 1),
                         ("pd-pool", "2001:db8:8000::/48", 56, 256, 1)]  # fmt: skip

        assert agent.delete("/v6/leases/2001:db8:8000:100::").status_code == 204
        assert _kea_lease(dhcp_box, "2001:db8:8000:100::", "dhcp6", type="IA_PD") is None
