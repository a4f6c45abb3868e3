"""Discovery as a source of IPAM, on the IPAM tests' own appliance: Central sweeps a range from the
appliance and finds the client namespaces that answer; it reads a router's neighbour table
(net-snmp's snmpd in a client namespace) with an SNMP v2c profile; the address view shows what
was found (``discovered``, with MAC addresses from the router), an address only discovery
knows is a disagreement, and next free passes over discovered addresses."""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
from pathlib import Path

import pytest

from services.common.proc import run
from services.sandbox import netns
from services.sandbox.sandbox import Client, Sandbox
from tests.harness.problems import assert_problem
from tests.harness.wait import wait_for
from tests.ipam.test_ipam_sandbox import IPAM, Central

pytestmark = pytest.mark.sandbox

COMMUNITY = "ipam-discovery-1"


def _address(client: Client, address: str, box: Sandbox) -> None:
    prefix = box.network.prefixlen
    run(["ip", "-n", client.ns, "addr", "add", f"{address}/{prefix}", "dev", client.iface])


def _snmpd(client: Client, address: str, box: Sandbox, tmp: Path) -> subprocess.Popen[bytes]:
    conf = tmp / "snmpd.conf"
    conf.write_text(f"agentAddress udp:{address}:161\nrocommunity {COMMUNITY} {box.address}\n")
    env = {**os.environ, "SNMP_PERSISTENT_DIR": str(tmp / "persist"), "MIBS": ""}
    return subprocess.Popen(
        ["ip", "netns", "exec", client.ns, "snmpd", "-f", "-Lf", str(tmp / "log"), "-C", "-c",
         str(conf), "-p", str(tmp / "pid")],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def test_sweep_and_router_discovery_feed_the_address_view(ipam_box: Sandbox) -> None:
    box = ipam_box
    central = Central(box)
    net = box.network
    hosts = [str(net[3]), str(net[4])]
    router_address, behind = str(net[5]), [str(net[6]), str(net[7])]
    clients: list[Client] = []
    snmpd: subprocess.Popen[bytes] | None = None
    rng = central.ok(central.call("POST", f"{IPAM}/ranges", {
        "start": str(net[2]), "end": str(net[9]), "name": "discovery"}))  # fmt: skip
    base = f"{IPAM}/ranges/{rng['id']}"
    with tempfile.TemporaryDirectory(prefix="bw-ipam-disc-") as tmp:
        try:
            for address in [*hosts, router_address]:
                client = box.add_client()
                clients.append(client)
                _address(client, address, box)
            router = clients[-1]
            for index, address in enumerate(behind):
                mac = f"02:00:5e:00:01:{index:02x}"
                run(["ip", "-n", router.ns, "neigh", "replace", address, "lladdr", mac,
                     "dev", router.iface, "nud", "permanent"])  # fmt: skip
            snmpd = _snmpd(router, router_address, box, Path(tmp))

            swept = central.ok(central.call("POST", f"{base}/sweep", {"rate": 500,
                                                                      "timeout": 1}))  # fmt: skip
            assert swept["found"] >= 3, swept  # the two hosts and the router (not .6, .7)
            profile = {"version": "2c", "community": COMMUNITY, "timeout": 1, "retries": 1}
            body = {"address": router_address, "profile": profile, "comment": "core router"}

            def read() -> dict[str, object] | None:
                answer = central.call("POST", f"{IPAM}/discovery/router", body)
                return answer.json() if answer.status_code == 200 else None

            found = wait_for(read, timeout=30, interval=1, what="the router's snmpd to answer")
            assert found is not None and int(str(found["found"])) >= 2

            view = central.ok(central.call("GET", f"{base}/addresses?limit=100"))["items"]
            by_address = {item["address"]: item for item in view}
            for address in [*hosts, router_address, *behind]:
                kinds = {s["kind"] for s in by_address[address]["sources"]}
                assert "discovered" in kinds, (address, by_address.get(address))
            macs = {s.get("hw_address") for s in by_address[behind[0]]["sources"]}
            assert "02:00:5e:00:01:00" in macs
            assert "discovered-unknown" in by_address[hosts[0]]["problems"]
            seen_by = {s.get("seen_by") for s in by_address[behind[1]]["sources"]}
            assert seen_by == {f"snmp {router_address}"}

            free = central.ok(central.call("GET", f"{base}/next-free-address"))["address"]
            assert free not in {*hosts, router_address, *behind}, free

            # A wrong community gets nothing, and says so at the field.
            wrong = {**body, "profile": {**profile, "community": "not-this-one", "retries": 0}}
            assert_problem(central.call("POST", f"{IPAM}/discovery/router", wrong), 502,
                           "address")  # fmt: skip
            history = central.ok(
                central.call(
                    "GET", f"/api/v1/history?filter=object_type:ipam-range object_id:{rng['id']}"
                )
            )
            assert [h["action"] for h in history["items"]][:1] == ["sweep"]
        finally:
            if snmpd is not None and snmpd.poll() is None:
                snmpd.send_signal(signal.SIGTERM)
                snmpd.wait(timeout=10)
            for client in clients:
                netns.delete(client.ns)
                box.clients.remove(client)
            central.call("DELETE", base)
