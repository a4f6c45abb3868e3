"""What the agent configures reaches real clients: ISC dhclient in a client namespace."""

from __future__ import annotations

import ipaddress
from typing import Any

from services.sandbox.sandbox import Sandbox
from tests.dhcp.conftest import Agent, wait_link_local
from tests.harness.dhcp import dhclient


def net(box: Sandbox, index: int) -> str:
    return str(box.network[index])


def scope4(box: Sandbox, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "subnet": str(box.network),
        "pools": [{"start": net(box, 16), "end": net(box, 20)}],
        "options": [{"name": "routers", "data": box.address}],
    }
    body.update(extra)
    return body


def test_scope_hands_out_addresses_from_its_pool(dhcp_box: Sandbox, agent: Agent) -> None:
    pool = [net(dhcp_box, n) for n in range(16, 21)]
    with agent.scope("v4", scope4(dhcp_box)):
        lease = dhclient(dhcp_box.add_client(mac="02:d4:00:00:00:01"))
        assert lease["new_ip_address"] in pool
        assert lease["new_routers"] == dhcp_box.address
        # the lease is there for Central: search, page, utilisation, delete
        found = agent.ok(agent.get("/v4/leases/search", params={"hw_address": "02:d4:00:00:00:01"}))
        assert [x["address"] for x in found] == [lease["new_ip_address"]]
        page = agent.ok(agent.get("/v4/leases", params={"limit": 10}))
        assert lease["new_ip_address"] in [x["address"] for x in page["leases"]]
        usage = agent.ok(agent.get("/v4/statistics"))
        assert usage[0]["total"] == 5 and usage[0]["assigned"] == 1
        assert agent.delete(f"/v4/leases/{lease['new_ip_address']}").status_code == 204
        assert agent.ok(agent.get("/v4/leases/search", params={"address": pool[0]})) == []


def test_reservation_gives_its_address_and_hostname(dhcp_box: Sandbox, agent: Agent) -> None:
    mac = "02:d4:00:00:00:02"
    with agent.scope("v4", scope4(dhcp_box)) as scope:
        reservation = {
            "hw_address": mac,
            "ip_addresses": [net(dhcp_box, 25)],
            "hostname": "resv-host",
            "options": [{"name": "domain-name", "data": "resv.burrow.example"}],
        }
        agent.ok(agent.post(f"/v4/scopes/{scope['id']}/reservations", json=reservation))
        lease = dhclient(dhcp_box.add_client(mac=mac))
        assert lease["new_ip_address"] == net(dhcp_box, 25)
        assert lease["new_host_name"] == "resv-host"
        assert lease["new_domain_name"] == "resv.burrow.example"  # a reservation's option
        found = agent.ok(agent.get("/v4/leases/search", params={"hostname": "resv-host"}))
        assert [x["address"] for x in found] == [net(dhcp_box, 25)]


def test_options_and_server_properties_reach_the_client(dhcp_box: Sandbox, agent: Agent) -> None:
    options = [
        {"name": "routers", "data": dhcp_box.address},
        {"code": 6, "data": f"{dhcp_box.address}, {net(dhcp_box, 3)}"},
        {"name": "domain-name", "data": "lab.burrow.example"},
    ]
    before = agent.ok(agent.get("/v4/properties"))
    agent.ok(agent.patch("/v4/properties", json={"valid_lifetime": 1800, "renew_timer": 600,
                                                 "rebind_timer": 1200}))  # fmt: skip
    try:
        agent.ok(agent.put("/v4/options", json=[{"name": "interface-mtu", "data": "1400"}]))
        with agent.scope("v4", scope4(dhcp_box, options=options)):
            lease = dhclient(dhcp_box.add_client(mac="02:d4:00:00:00:03"))
        assert lease["new_domain_name"] == "lab.burrow.example"
        assert lease["new_domain_name_servers"] == f"{dhcp_box.address} {net(dhcp_box, 3)}"
        assert lease["new_interface_mtu"] == "1400"  # a global option
        assert lease["new_dhcp_lease_time"] == "1800"
        assert lease["new_dhcp_renewal_time"] == "600"
    finally:
        agent.ok(agent.put("/v4/options", json=[]))
        restore = {k: before[k] for k in ("valid_lifetime", "renew_timer", "rebind_timer")}
        agent.ok(agent.patch("/v4/properties", json=restore))


def test_class_limits_a_pool_to_its_members(dhcp_box: Sandbox, agent: Agent) -> None:
    member, stranger = "02:d4:00:00:00:04", "02:d4:00:00:00:05"
    lab = {
        "name": "lab",
        "test": f"pkt4.mac == 0x{member.replace(':', '')}",
        "next_server": net(dhcp_box, 2),
        "boot_file_name": "lab.efi",
    }
    guests = {"name": "guests", "test": "not member('lab')"}
    agent.ok(agent.put("/v4/classes/lab", json=lab))
    agent.ok(agent.put("/v4/classes/guests", json=guests))
    pools = [
        {"start": net(dhcp_box, 10), "end": net(dhcp_box, 12), "client_class": "lab"},
        {"start": net(dhcp_box, 16), "end": net(dhcp_box, 20), "client_class": "guests"},
    ]
    try:
        with agent.scope("v4", scope4(dhcp_box, pools=pools)):
            other = dhclient(dhcp_box.add_client(mac=stranger))
            mine = dhclient(dhcp_box.add_client(mac=member))
        assert other["new_ip_address"] in [net(dhcp_box, n) for n in range(16, 21)]
        assert mine["new_ip_address"] in [net(dhcp_box, n) for n in range(10, 13)]
        assert mine.get("new_filename") == "lab.efi"  # the class's BOOTP field
        assert "new_filename" not in other
    finally:
        agent.ok(agent.delete("/v4/classes/guests"))
        agent.ok(agent.delete("/v4/classes/lab"))


def test_dhcpv6_scope_and_reservation(dhcp_box: Sandbox, agent: Agent) -> None:
    net6 = dhcp_box.network6
    scope = {
        "subnet": str(net6),
        "interface": "br0",
        "pools": [{"start": str(net6[0x1000]), "end": str(net6[0x10FF])}],
        "options": [{"name": "dns-servers", "data": dhcp_box.address6}],
    }
    reserved_mac = "02:d4:00:00:00:07"
    duid = "00:03:00:01:" + reserved_mac  # DUID-LL (dhclient -D LL)
    with agent.scope("v6", scope) as made:
        plain = dhcp_box.add_client(mac="02:d4:00:00:00:06")
        wait_link_local(plain)
        lease = dhclient(plain, v6=True, extra=["-D", "LL"])
        assert lease["new_ip6_address"] in [str(net6[n]) for n in range(0x1000, 0x1100)]
        assert lease["new_dhcp6_name_servers"] == dhcp_box.address6
        reservation = {"duid": duid, "ip_addresses": [str(net6[0xBEEF])], "hostname": "six"}
        agent.ok(agent.post(f"/v6/scopes/{made['id']}/reservations", json=reservation))
        client = dhcp_box.add_client(mac=reserved_mac)
        wait_link_local(client)
        reserved = dhclient(client, v6=True, extra=["-D", "LL"])
        assert reserved["new_ip6_address"] == str(net6[0xBEEF])
        found = agent.ok(agent.get("/v6/leases/search", params={"duid": duid}))
        assert [(x["address"], x["hostname"]) for x in found] == [(str(net6[0xBEEF]), "six")]


def test_dhcpv6_prefix_delegation_reaches_a_requesting_router(
    dhcp_box: Sandbox, agent: Agent
) -> None:
    net6 = dhcp_box.network6
    delegated = ipaddress.IPv6Network("2001:db8:8000::/48")  # documentation space, off-link
    scope = {
        "subnet": str(net6),
        "interface": "br0",
        "pools": [{"start": str(net6[0x2000]), "end": str(net6[0x20FF])}],
        "pd_pools": [{"prefix": str(delegated), "delegated_len": 56}],
    }
    with agent.scope("v6", scope) as made:
        assert made["pd_pools"] == [{"prefix": str(delegated), "delegated_len": 56,
                                     "client_class": None, "options": [],
                                     "extra": None}]  # fmt: skip
        kea_entry = next(
            s for s in agent.ok(agent.get("/v6/config"))["config"]["Dhcp6"]["subnet6"]
            if s["id"] == made["id"]
        )  # fmt: skip
        assert kea_entry["pd-pools"][0]["delegated-len"] == 56
        router = dhcp_box.add_client(mac="02:d4:00:00:00:08")
        wait_link_local(router)
        lease = dhclient(router, v6=True, extra=["-P", "-D", "LL"])  # a prefix, no address
        prefix = ipaddress.IPv6Network(lease["new_ip6_prefix"])
        assert prefix.prefixlen == 56 and prefix.subnet_of(delegated), lease
