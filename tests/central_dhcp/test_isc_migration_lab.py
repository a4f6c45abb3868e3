"""Migration from ISC DHCP, end to end: a real dhcpd serves a client, then Kea takes over.

In a lab, Debian's isc-dhcp-server (dhcpd 4.4) runs in a namespace of its own on the lab
network with ``tests/data/isc-dhcp/lab/dhcpd.conf.template`` (checked with ``dhcpd -t`` first)
and hands ISC dhclient a lease. dhcpd is stopped; its dhcpd.conf and dhcpd.leases are imported
into the appliance through Central (preview, then the import); the same client (same MAC) then
gets from Kea the same address and options, a host declaration's fixed address is served, and
the imported lease is in Kea (lease4-get) before the client asks again.
"""

from __future__ import annotations

import ipaddress
import signal
import subprocess
from pathlib import Path
from typing import Any

from services.common.proc import run
from services.sandbox.lab import Lab
from tests.central_dhcp.conftest import CentralDhcp
from tests.dhcp.conftest import wait_link_local
from tests.harness.dhcp import dhclient
from tests.harness.problems import assert_problem
from tests.harness.wait import wait_for

TEMPLATE = Path(__file__).parents[1] / "data/isc-dhcp/lab/dhcpd.conf.template"
CLIENT_MAC = "02:15:00:00:00:01"
#: What names the server that answered, not what it gave.
OWN = {"new_dhcp_server_identifier", "new_expiry"}
HOST_MAC = "02:15:00:00:00:02"
NAMED_MAC = "02:15:00:00:00:03"  # a host declaration without a fixed address


def other_site(network: ipaddress.IPv4Network) -> ipaddress.IPv4Network:
    """A /27 of the documentation range other than the lab's: a subnet of another site in the
    configuration only (nothing routes it)."""
    return next(n for n in ipaddress.IPv4Network("198.51.100.0/24").subnets(new_prefix=27)
                if n != network)  # fmt: skip


def render(network: ipaddress.IPv4Network) -> str:
    other = other_site(network)
    values = {
        "network": str(network.network_address),
        "netmask": str(network.netmask),
        "pool_start": str(network[16]),
        "pool_end": str(network[20]),
        "router": str(network[1]),
        "dns1": str(network[3]),
        "dns2": str(network[4]),
        "host_mac": HOST_MAC,
        "named_mac": NAMED_MAC,
        "fixed": str(network[25]),
        "other": str(other.network_address),
        "other_router": str(other[1]),
    }
    text = TEMPLATE.read_text()
    for key, value in values.items():
        text = text.replace("{" + key + "}", value)
    return text


def central_for(box: Any) -> CentralDhcp:
    token = box.central_token()
    probe = CentralDhcp(box, token, 0)

    def enrolled() -> int | None:
        servers = probe.ok(probe.call("GET", "/api/v1/dhcp/servers"))["items"]
        local = [s for s in servers if s["local"] and s["state"] == "reachable"]
        return int(local[0]["id"]) if local else None

    server_id = wait_for(enrolled, timeout=60, interval=0.5, what="the DHCP server enrolled")
    return CentralDhcp(box, token, server_id)


def test_dhcpd_conf_and_leases_move_to_kea(lab: Lab, tmp_path: Path) -> None:
    network = lab.network
    box = lab.sandbox("a")  # seeds no subnet on the lab network: Kea stays silent at first
    central = central_for(box)
    work = tmp_path
    conf, leases = work / "dhcpd.conf", work / "dhcpd.leases"
    conf.write_text(render(network))
    leases.write_text("")
    checked = run(["dhcpd", "-t", "-cf", str(conf)], check=False)
    assert checked.returncode == 0, checked.stdout

    server = lab.add_client(mac="02:15:00:00:00:fe")  # dhcpd's own namespace on the lab
    run(["ip", "-n", server.ns, "addr", "add", f"{network[9]}/{network.prefixlen}", "dev",
         server.iface])  # fmt: skip
    dhcpd = subprocess.Popen(
        ["ip", "netns", "exec", server.ns, "dhcpd", "-4", "-f", "-d", "-cf", str(conf),
         "-lf", str(leases), "-pf", str(work / "dhcpd.pid"), server.iface],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        client = lab.add_client(mac=CLIENT_MAC)
        old = dhclient(client)
        host = lab.add_client(mac=HOST_MAC)
        old_host = dhclient(host)
        named = lab.add_client(mac=NAMED_MAC)
        old_named = dhclient(named)
    finally:
        dhcpd.send_signal(signal.SIGTERM)
        output = dhcpd.communicate(timeout=20)[0]
    assert old["new_ip_address"] in [str(network[n]) for n in range(16, 21)], output
    assert old["new_routers"] == str(network[1])
    assert old["new_domain_name_servers"] == f"{network[3]} {network[4]}"
    assert old["new_domain_name"] == "migrated.example"
    assert old_host["new_ip_address"] == str(network[25])
    assert old_named["new_host_name"] == "named-host"
    assert "binding state active" in leases.read_text()

    body = {"conf": conf.read_text(), "leases": leases.read_text(), "comment": "from dhcpd"}
    path = "/v4/import/isc-dhcp"
    preview = central.ok(central.dhcp("POST", path + "/preview", body))
    both = [str(network), str(other_site(network))]
    assert [s["subnet"] for s in preview["scopes"]] == both
    assert [r["hw_address"] for r in preview["global_reservations"]] == [NAMED_MAC]
    assert {lease["address"] for lease in preview["leases"]} >= {old["new_ip_address"]}
    assert any("ddns-update-style" in n["statement"] for n in preview["not_carried"])
    assert central.ok(central.dhcp("GET", "/v4/scopes"))["total"] == 0  # nothing changed yet
    # a syntax error and an include are refused naming their line; a reader may not import
    broken = {"conf": body["conf"].replace("range ", "range", 1).replace(";", "", 3)}
    assert_problem(central.dhcp("POST", path + "/preview", broken), 422, field="conf")
    included = {"conf": 'include "/etc/dhcp/more.conf";\n' + body["conf"]}
    refused = central.dhcp("POST", path, included)
    assert_problem(refused, 422, field="conf")
    assert refused.json()["problems"][0]["line"] == 1
    reader = central.make_user("read-only")
    assert central.dhcp("POST", path + "/preview", body, token=reader).status_code == 403
    assert central.dhcp("POST", path, body, token=reader).status_code == 403
    assert central.ok(central.dhcp("GET", "/v4/scopes"))["total"] == 0

    done = central.ok(central.dhcp("POST", path, body))
    assert done["change"]["changed"] is True
    assert old["new_ip_address"] in done["leases_added"], done
    # Central's model shows the new objects at once (its snapshot is the configuration)
    scopes = central.ok(central.dhcp("GET", "/v4/scopes"))["items"]
    assert [s["subnet"] for s in scopes] == both
    assert scopes[0]["reservations"][0]["hw_address"] == HOST_MAC
    globals_ = central.ok(central.dhcp("GET", "/v4/reservations"))["items"]
    assert [(r["hw_address"], r["hostname"]) for r in globals_] == [(NAMED_MAC, "named-host")]
    assert central.ok(central.dhcp("GET", "/v4/properties"))["reservations_global"] is True
    entries = central.history(object_type="dhcp-migration")
    assert [e["action"] for e in entries] == ["import"]
    assert any("ddns-update-style" in n["statement"] for n in entries[0]["after"]["not_carried"])
    imported = central.history(object_type="dhcp-lease")
    assert [e["action"] for e in imported] == ["import"]
    assert old["new_ip_address"] in imported[0]["after"]["added"]
    sync = central.ok(central.call("POST", f"/api/v1/dhcp/servers/{central.server_id}/sync"))
    assert sync["families"]["v4"]["changed"] is False  # Central's snapshot is Kea's state
    # importing again: the subnet is there already, nothing changes
    again = central.dhcp("POST", path, body)
    assert again.status_code == 409, again.text
    # the lease file alone, into the scopes the server has: Kea holds these leases already
    only = central.ok(central.dhcp("POST", path, {"leases": body["leases"]}))
    assert "change" not in only and only["leases_added"] == []
    refused = {r["address"]: r["reason"] for r in only["leases_refused"]}
    assert old["new_ip_address"] in refused, only

    lease = box.kea("lease4-get", "dhcp4", {"ip-address": old["new_ip_address"]})
    assert lease["result"] == 0, lease
    assert lease["arguments"]["hw-address"] == CLIENT_MAC

    new = dhclient(client)  # the same client, now served by Kea
    # everything dhcpd gave, Kea gives (address, options, lease time), but its own identity
    differs = {k: (old[k], new.get(k)) for k in old
               if k.startswith("new_") and k not in OWN and new.get(k) != old[k]}  # fmt: skip
    assert not differs, differs
    for key in ("new_ip_address", "new_routers", "new_domain_name_servers", "new_domain_name",
                "new_subnet_mask", "new_ntp_servers", "new_dhcp_lease_time"):  # fmt: skip
        assert new.get(key) == old.get(key), (key, new.get(key), old.get(key))
    # Kea also sends the renew and rebind times: those dhclient took by default from dhcpd
    assert (new["new_dhcp_renewal_time"], new["new_dhcp_rebinding_time"]) == ("300", "525")
    assert new["new_dhcp_server_identifier"] == box.address  # Kea answered, not dhcpd
    reserved = dhclient(host)
    assert reserved["new_ip_address"] == str(network[25])
    assert reserved["new_host_name"] == "reserved-host"
    # the host without a fixed address (a global reservation): its host name, on its
    # (imported) dynamic address
    again_named = dhclient(named)
    assert (again_named["new_host_name"], again_named["new_ip_address"]) == (
        "named-host", old_named["new_ip_address"])  # fmt: skip


TEMPLATE6 = TEMPLATE.parent / "dhcpd6.conf.template"
OWN6 = {"new_dhcp6_server_id", "new_life_starts", "new_starts"}
CLIENT6_MAC = "02:15:00:00:00:11"
HOST6_MAC = "02:15:00:00:00:12"
ROUTER6_MAC = "02:15:00:00:00:13"
DELEGATED = ipaddress.IPv6Network("2001:db8:8000::/48")  # documentation space, off-link


def render6(network6: ipaddress.IPv6Network) -> str:
    values = {
        "subnet6": str(network6),
        "pool_start": str(network6[0x1000]),
        "pool_end": str(network6[0x10FF]),
        "dns6": str(network6[3]),
        "duid": "00:03:00:01:" + HOST6_MAC,  # DUID-LL, as dhclient -D LL makes it
        "fixed6": str(network6[0xBEEF]),
    }
    text = TEMPLATE6.read_text()
    for key, value in values.items():
        text = text.replace("{" + key + "}", value)
    return text


def test_dhcpd6_conf_and_leases_move_to_kea(lab: Lab, tmp_path: Path) -> None:
    network6 = lab.network6
    box = lab.sandbox("a")
    central = central_for(box)
    work = tmp_path
    conf, leases = work / "dhcpd6.conf", work / "dhcpd6.leases"
    conf.write_text(render6(network6))
    leases.write_text("")
    checked = run(["dhcpd", "-6", "-t", "-cf", str(conf)], check=False)
    assert checked.returncode == 0, checked.stdout

    server = lab.add_client(mac="02:15:00:00:00:fd")
    run(["ip", "-n", server.ns, "-6", "addr", "add", f"{network6[9]}/64", "dev", server.iface,
         "nodad"])  # fmt: skip
    wait_link_local(server)
    dhcpd = subprocess.Popen(
        ["ip", "netns", "exec", server.ns, "dhcpd", "-6", "-f", "-d", "-cf", str(conf),
         "-lf", str(leases), "-pf", str(work / "dhcpd6.pid"), server.iface],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        client, host, router = (lab.add_client(mac=m) for m in (CLIENT6_MAC, HOST6_MAC,
                                                                ROUTER6_MAC))  # fmt: skip
        for one in (client, host, router):
            wait_link_local(one)
        old = dhclient(client, v6=True, extra=["-D", "LL"])
        old_host = dhclient(host, v6=True, extra=["-D", "LL"])
        old_prefix = dhclient(router, v6=True, extra=["-P", "-D", "LL"])
    finally:
        dhcpd.send_signal(signal.SIGTERM)
        output = dhcpd.communicate(timeout=20)[0]
    pool = [str(network6[n]) for n in range(0x1000, 0x1100)]
    assert old["new_ip6_address"] in pool, output
    assert old["new_dhcp6_name_servers"] == str(network6[3])
    assert old["new_dhcp6_domain_search"].rstrip(".") == "migrated.example"
    assert old_host["new_ip6_address"] == str(network6[0xBEEF])
    assert ipaddress.IPv6Network(old_prefix["new_ip6_prefix"]).subnet_of(DELEGATED)

    body = {"conf": conf.read_text(), "leases": leases.read_text()}
    done = central.ok(central.dhcp("POST", "/v6/import/isc-dhcp", body))
    assert done["change"]["changed"] is True
    assert old["new_ip6_address"] in done["leases_added"], done
    assert old_prefix["new_ip6_prefix"] in done["leases_added"], done
    (scope,) = central.ok(central.dhcp("GET", "/v6/scopes"))["items"]
    assert scope["subnet"] == str(network6) and scope["interface"] == "br0"
    assert [(p["prefix"], p["delegated_len"]) for p in scope["pd_pools"]] == [(str(DELEGATED), 56)]
    lease = box.kea("lease6-get", "dhcp6", {"ip-address": old["new_ip6_address"]})
    assert lease["result"] == 0, lease
    assert lease["arguments"]["duid"] == "00:03:00:01:" + CLIENT6_MAC

    new = dhclient(client, v6=True, extra=["-D", "LL"])  # now Kea
    differs = {k: (old[k], new.get(k)) for k in old
               if k.startswith("new_") and k not in OWN6 and new.get(k) != old[k]}  # fmt: skip
    # dhcpd6 leaves T1 and T2 to the client (0); Kea is given what clients then take, 1/2 and
    # 4/5 of the preferred lifetime (300 s): the rest is the same
    assert differs == {"new_renew": ("0", "150"), "new_rebind": ("0", "240")}, differs
    for key in ("new_ip6_address", "new_dhcp6_name_servers", "new_dhcp6_domain_search"):
        assert new.get(key) == old.get(key), (key, new.get(key), old.get(key))
    assert new["new_dhcp6_server_id"] != old["new_dhcp6_server_id"]  # another server answered
    # the imported lease (its DUID and IAID) is the one Kea renewed: no second lease was made
    held = box.kea("lease6-get-by-duid", "dhcp6", {"duid": "00:03:00:01:" + CLIENT6_MAC})
    assert [x["ip-address"] for x in held["arguments"]["leases"]] == [old["new_ip6_address"]]
    assert dhclient(host, v6=True, extra=["-D", "LL"])["new_ip6_address"] == str(network6[0xBEEF])
    renewed = dhclient(router, v6=True, extra=["-P", "-D", "LL"])
    assert renewed["new_ip6_prefix"] == old_prefix["new_ip6_prefix"]
