"""Reservations Kea 2.2 takes beyond a scope's hardware addresses, served to real clients (ISC
dhclient in a client namespace): a global reservation (DHCPv4), a DHCPv6 prefix reservation
(prefix delegation), and a reservation by the relay agent's circuit id (ISC dhcrelay in a
namespace of its own between the client and Kea)."""

from __future__ import annotations

import ipaddress
import shutil
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from services.common.proc import run
from services.sandbox.sandbox import Client, Sandbox
from tests.dhcp.conftest import Agent, wait_link_local
from tests.dhcp.test_serving import net, scope4
from tests.harness.dhcp import dhclient
from tests.harness.wait import wait_for

pytestmark = pytest.mark.sandbox


def _properties(agent: Agent, family: str, **changes: Any) -> Iterator[None]:
    before = agent.ok(agent.get(f"/{family}/properties"))
    agent.ok(agent.patch(f"/{family}/properties", json=changes))
    try:
        yield
    finally:
        agent.ok(agent.patch(f"/{family}/properties",
                             json={k: before[k] for k in changes if k in before}))  # fmt: skip


def test_global_reservation_serves_a_dhcpv4_client(dhcp_box: Sandbox, agent: Agent) -> None:
    mac = "02:d4:00:00:01:01"
    gen = _properties(agent, "v4", reservations_global=True, reservations_in_subnet=True)
    next(gen)
    try:
        with agent.scope("v4", scope4(dhcp_box)):
            reservation = {"hw_address": mac, "ip_addresses": [net(dhcp_box, 27)],
                           "hostname": "global-host"}  # fmt: skip
            agent.ok(agent.put(f"/v4/reservations/hw_address/{mac}", json=reservation))
            try:
                shown = agent.ok(agent.get("/v4/reservations"))
                assert [r["hw_address"] for r in shown] == [mac]
                lease = dhclient(dhcp_box.add_client(mac=mac))
                assert lease["new_ip_address"] == net(dhcp_box, 27)
                assert lease["new_host_name"] == "global-host"
            finally:
                agent.ok(agent.delete(f"/v4/reservations/hw_address/{mac}"))
    finally:
        next(gen, None)


def test_prefix_reservation_reaches_a_requesting_router(dhcp_box: Sandbox, agent: Agent) -> None:
    net6 = dhcp_box.network6
    pool = ipaddress.IPv6Network("2001:db8:8100::/48")  # documentation space, off-link
    reserved = "2001:db8:8200:4200::/56"
    mac = "02:d4:00:00:01:02"
    duid = "00:03:00:01:" + mac  # DUID-LL of the client's hardware address (dhclient -D LL)
    scope = {
        "subnet": str(net6),
        "interface": "br0",
        "pools": [{"start": str(net6[0x3000]), "end": str(net6[0x30FF])}],
        "pd_pools": [{"prefix": str(pool), "delegated_len": 56}],
        "reservations": [{"duid": duid, "prefixes": [reserved]}],
    }
    with agent.scope("v6", scope) as made:
        assert [str(p) for p in made["reservations"][0]["prefixes"]] == [reserved]
        router = dhcp_box.add_client(mac=mac)
        wait_link_local(router)
        lease = dhclient(router, v6=True, extra=["-P", "-D", "LL"])
        assert lease["new_ip6_prefix"] == reserved, lease


# --- a reservation by circuit id, through a relay agent ---------------------------------------
RELAY_NET = ipaddress.IPv4Network("198.18.230.0/24")  # benchmarking space, inside the lab only


def _ip(ns: str, *args: str) -> None:
    run(["ip", "-n", ns, *args], timeout=10)


@pytest.fixture
def relay(dhcp_box: Sandbox) -> Iterator[tuple[str, str]]:
    """ISC dhcrelay in a namespace of its own: upstream on the sandbox's link, downstream a
    link to a client namespace; it adds the relay agent information option (82) with its
    downstream interface's name as the circuit id. Yields (client namespace, interface)."""
    if shutil.which("dhcrelay") is None:
        pytest.fail("dhcrelay is missing: apt-get install isc-dhcp-relay (./build.sh setup)")
    upstream = dhcp_box.add_client(mac="02:d4:00:00:01:10")  # the relay's side of the link
    relay_ns, up = upstream.ns, upstream.iface
    client_ns = f"{relay_ns}x"
    relay_address = str(dhcp_box.network[-3])
    gateway = str(RELAY_NET[1])
    run(["ip", "netns", "add", client_ns], timeout=10)
    proc: subprocess.Popen[bytes] | None = None
    try:
        _ip(relay_ns, "addr", "add", f"{relay_address}/{dhcp_box.network.prefixlen}", "dev", up)
        _ip(relay_ns, "link", "add", "circ7", "type", "veth", "peer", "name", "eth0",
            "netns", client_ns)  # fmt: skip
        _ip(relay_ns, "addr", "add", f"{gateway}/24", "dev", "circ7")
        _ip(relay_ns, "link", "set", "circ7", "up")
        _ip(client_ns, "link", "set", "eth0", "address", "02:d4:00:00:01:11")
        _ip(client_ns, "link", "set", "eth0", "up")
        _ip(client_ns, "link", "set", "lo", "up")
        run(["ip", "netns", "exec", relay_ns, "sysctl", "-qw", "net.ipv4.ip_forward=1"],
            timeout=10)  # fmt: skip
        # Kea answers the relay at its downstream address (giaddr)
        _ip(dhcp_box.ns, "route", "add", str(RELAY_NET), "via", relay_address)
        proc = subprocess.Popen(
            ["ip", "netns", "exec", relay_ns, "dhcrelay", "-4", "-d", "-a", "-id", "circ7",
             "-iu", up, dhcp_box.address],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        yield client_ns, "eth0"
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=10)
        run(["ip", "-n", dhcp_box.ns, "route", "del", str(RELAY_NET)], timeout=10, check=False)
        run(["ip", "netns", "del", client_ns], timeout=10, check=False)


def test_circuit_id_reservation_through_a_relay(
    dhcp_box: Sandbox, agent: Agent, relay: tuple[str, str]
) -> None:
    client_ns, iface = relay
    circuit = ":".join(f"{b:02x}" for b in b"circ7")  # dhcrelay's circuit id: the interface
    scope = {
        "subnet": str(RELAY_NET),
        "pools": [{"start": str(RELAY_NET[100]), "end": str(RELAY_NET[110])}],
        "options": [{"name": "routers", "data": str(RELAY_NET[1])}],
        "reservations": [{"circuit_id": circuit, "ip_addresses": [str(RELAY_NET[42])],
                          "hostname": "by-circuit"}],
    }  # fmt: skip
    with agent.scope("v4", scope) as made:
        assert made["reservations"][0]["circuit_id"] == circuit

        relayed = Client(ns=client_ns, iface=iface)
        lease = wait_for(lambda: _try_dhclient(relayed), timeout=60, interval=1,
                         what="a lease through the relay")  # fmt: skip
        assert lease["new_ip_address"] == str(RELAY_NET[42]), lease
        assert lease["new_host_name"] == "by-circuit"


def _try_dhclient(client: Client) -> dict[str, str] | None:
    try:
        return dhclient(client, timeout=20)
    except AssertionError:
        return None
