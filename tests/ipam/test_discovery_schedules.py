"""Discovery kept as objects, on the IPAM tests' own appliance: next free with the ping check
passes over a live client namespace's address (and keeps it as discovered); Central runs a
schedule that reads net-snmp's snmpd in a router namespace with a stored SNMPv3 authPriv
profile (SHA-256, AES-128) by itself; a v2c profile with a wrong community records an error;
neither the history nor the answers hold a secret."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest

from services.common.proc import run
from services.sandbox import netns
from services.sandbox.sandbox import Client, Sandbox
from tests.harness.wait import wait_for
from tests.ipam.test_ipam_sandbox import IPAM, Central

pytestmark = pytest.mark.sandbox

COMMUNITY = "ipam-sched-community"
V3_USER = "ipamsched"
V3_AUTH = "ipam-sched-auth-passphrase"
V3_PRIV = "ipam-sched-priv-passphrase"
SECRETS = (COMMUNITY, V3_AUTH, V3_PRIV, "wrong-community-d")


def _snmpd(client: Client, address: str, box: Sandbox, tmp: Path) -> subprocess.Popen[bytes]:
    conf = tmp / "snmpd.conf"
    conf.write_text(
        f"agentAddress udp:{address}:161\n"
        f'createUser {V3_USER} SHA-256 "{V3_AUTH}" AES "{V3_PRIV}"\n'
        f"rouser {V3_USER} priv\n"
        f"rocommunity {COMMUNITY} {box.address}\n"
    )
    env = {**os.environ, "SNMP_PERSISTENT_DIR": str(tmp / "persist"), "MIBS": ""}
    return subprocess.Popen(
        ["ip", "netns", "exec", client.ns, "snmpd", "-f", "-Lf", str(tmp / "log"), "-C", "-c",
         str(conf), "-p", str(tmp / "pid")],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def test_ping_check_and_scheduled_snmp_discovery(ipam_box: Sandbox) -> None:
    box, central = ipam_box, Central(ipam_box)
    net = box.network
    live, router_address = str(net[13]), str(net[14])
    behind = {str(net[16]): "02:00:5e:00:0d:10", str(net[17]): "02:00:5e:00:0d:11"}
    clients: list[Client] = []
    snmpd: subprocess.Popen[bytes] | None = None
    made: list[str] = []  # paths to delete, last made first
    with tempfile.TemporaryDirectory(prefix="bw-ipam-sched-") as tmp:
        try:
            for address in (live, router_address):
                client = box.add_client()
                clients.append(client)
                run(["ip", "-n", client.ns, "addr", "add", f"{address}/{net.prefixlen}", "dev",
                     client.iface])  # fmt: skip
            router = clients[-1]
            for address, mac in behind.items():
                run(["ip", "-n", router.ns, "neigh", "replace", address, "lladdr", mac,
                     "dev", router.iface, "nud", "permanent"])  # fmt: skip
            snmpd = _snmpd(router, router_address, box, Path(tmp))
            rng = central.ok(central.call("POST", f"{IPAM}/ranges", {
                "start": live, "end": str(net[19]), "name": "schedules"}))  # fmt: skip
            made.append(f"{IPAM}/ranges/{rng['id']}")
            base = f"{IPAM}/ranges/{rng['id']}"

            # The ping check: the two live namespaces answer, are passed over and kept.
            looked = central.ok(central.call("GET", f"{base}/next-free-address?ping=true"
                                                    "&ping_timeout=2"))  # fmt: skip
            assert looked["skipped"] == [live, router_address], looked
            assert looked["address"] == str(net[15])
            claimed = central.ok(
                central.call(
                    "POST",
                    f"{base}/next-free-address?claim=true",
                    {"owner": "ping-check", "ping": True},
                )
            )
            assert claimed["claimed"] and claimed["address"] == str(net[15]), claimed
            made.append(f"{base}/claims/{claimed['address']}")
            view = central.ok(central.call("GET", f"{base}/addresses"))["items"]
            sources = {i["address"]: i["sources"] for i in view}
            assert [(s["kind"], s["seen_by"]) for s in sources[live]] == [("discovered", "ping")]

            # A v3 authPriv profile, read by Central on its own schedule.
            v3 = central.ok(central.call("POST", f"{IPAM}/snmp-profiles", {
                "name": "sched-v3", "version": "3", "user": V3_USER, "auth_protocol": "sha256",
                "auth_passphrase": V3_AUTH, "priv_protocol": "aes128",
                "priv_passphrase": V3_PRIV, "timeout": 1, "retries": 2}))  # fmt: skip
            made.append(f"{IPAM}/snmp-profiles/{v3['id']}")
            wrong = central.ok(central.call("POST", f"{IPAM}/snmp-profiles", {
                "name": "sched-wrong", "version": "2c", "community": "wrong-community-d",
                "timeout": 1, "retries": 0}))  # fmt: skip
            made.append(f"{IPAM}/snmp-profiles/{wrong['id']}")
            # snmpd answers (asked with the profile given once) before the schedule is made
            once = {"address": router_address, "profile": {
                "version": "3", "user": V3_USER, "auth_passphrase": V3_AUTH,
                "priv_passphrase": V3_PRIV, "timeout": 1, "retries": 0}}  # fmt: skip
            wait_for(lambda: central.call("POST", f"{IPAM}/discovery/router", once).status_code
                     == 200, timeout=30, interval=0.5, what="snmpd to answer")  # fmt: skip
            sched = central.ok(central.call("POST", f"{IPAM}/discovery/schedules", {
                "name": "sched-core", "kind": "router", "router": router_address,
                "profile_id": v3["id"], "interval_seconds": 3600}))  # fmt: skip
            made.append(f"{IPAM}/discovery/schedules/{sched['id']}")

            def ran() -> dict[str, Any] | None:
                shown: dict[str, Any] = central.ok(
                    central.call("GET", f"{IPAM}/discovery/schedules/{sched['id']}")
                )
                return shown if shown["last_result"] else None

            done = wait_for(ran, timeout=60, interval=1, what="the schedule's first run")
            assert done is not None and done["last_result"] == "ok", done
            assert done["last_found"] >= 2 and done["last_seconds"] is not None, done
            assert done["next_run_at"] > done["last_run_at"]
            view = central.ok(central.call("GET", f"{base}/addresses"))["items"]
            sources = {i["address"]: i["sources"] for i in view}
            for address, mac in behind.items():
                assert {(s["kind"], s["hw_address"], s["seen_by"]) for s in sources[address]} == {
                    ("discovered", mac, f"snmp {router_address}")}  # fmt: skip
            history = central.ok(central.call(
                "GET", "/api/v1/history?filter=object_type:ipam-discovery-schedule "
                f"object_id:{sched['id']}&limit=50"))["items"]  # fmt: skip
            runs = [h for h in history if h["action"] == "run"]
            assert runs and runs[-1]["actor"] == "discovery-schedule", history

            # A wrong community: the run is an error, kept on the schedule.
            bad = central.ok(central.call("POST", f"{IPAM}/discovery/schedules", {
                "name": "sched-wrong", "kind": "router", "router": router_address,
                "profile_id": wrong["id"], "interval_seconds": 3600,
                "enabled": False}))  # fmt: skip
            made.append(f"{IPAM}/discovery/schedules/{bad['id']}")
            failed = central.ok(central.call(
                "POST", f"{IPAM}/discovery/schedules/{bad['id']}/run"))  # fmt: skip
            assert failed["last_result"] == "error" and failed["last_found"] is None, failed
            assert router_address in failed["last_error"], failed
            entry = central.ok(central.call(
                "GET", "/api/v1/history?filter=object_type:ipam-discovery-schedule "
                f"object_id:{bad['id']}&limit=5"))["items"][0]  # fmt: skip
            assert (entry["action"], entry["after"]["result"]) == ("run", "error")

            everything = json.dumps(central.ok(central.call(
                "GET", "/api/v1/history?filter=object_type~ipam&limit=500")))  # fmt: skip
            everything += json.dumps(central.ok(central.call("GET", f"{IPAM}/snmp-profiles")))
            everything += (box.root.logs / "central.log").read_text(errors="replace")
            for secret in SECRETS:
                assert secret not in everything
        finally:
            for path in reversed(made):
                central.call("DELETE", path)
            if snmpd is not None and snmpd.poll() is None:
                snmpd.send_signal(signal.SIGTERM)
                snmpd.wait(timeout=10)
            for client in clients:
                netns.delete(client.ns)
                box.clients.remove(client)
