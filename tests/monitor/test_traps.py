"""Notifications from a real sandbox to a real snmptrapd in a namespace of its own (issue 19).

named is killed by its own pid: supervisord records it, and the monitor program sends
burrowProgramFailed as a v2c trap and as a v3 inform. A real dhclient lease lifts the pool
over its threshold: burrowPoolThresholdPassed arrives, and the alert is in Central's event list.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.common.proc import run
from services.sandbox.sandbox import Client, Sandbox
from tests.harness.dhcp import dhclient
from tests.harness.wait import wait_for
from tests.monitor.snmp import AUTH_PASS, MIB_DIRS, MIBS, PRIV_PASS, USER

TRAP_COMMUNITY = "trap-community-1"


class TrapReceiver:
    """snmptrapd in a namespace on the sandbox's bridge, logging what it receives."""

    def __init__(self, box: Sandbox, directory: Path) -> None:
        self.client: Client = box.add_client()
        self.address = str(box.network[9])  # an appliance's index no sandbox uses alone
        run(["ip", "-n", self.client.ns, "addr", "add", f"{self.address}/{box.network.prefixlen}",
             "dev", self.client.iface])  # fmt: skip
        conf = directory / "snmptrapd.conf"
        conf.write_text(
            f"authCommunity log {TRAP_COMMUNITY}\n"
            f"createUser {USER} SHA-256 {AUTH_PASS} AES {PRIV_PASS}\n"
            f"authUser log {USER} priv\n"
        )
        self.log = directory / "traps.log"
        self.process = subprocess.Popen(
            ["ip", "netns", "exec", self.client.ns, "snmptrapd", "-f", "-C", "-c", str(conf),
             "-Lf", str(self.log), "-M", MIB_DIRS, "-m", MIBS, f"udp:{self.address}:162"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_for(lambda: "NET-SNMP version" in self.text(), timeout=20, what="snmptrapd")

    def text(self) -> str:
        try:
            return self.log.read_text()
        except FileNotFoundError:
            return ""

    def received(self, *needles: str) -> list[str]:
        """The traps (one per block) that hold every needle."""
        blocks = self.text().split("\n20")  # each trap starts with its date
        return [b for b in blocks if all(n in b for n in needles)]

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


@pytest.fixture
def receiver(shared_sandbox: Sandbox, tmp_path: Path) -> Iterator[TrapReceiver]:
    trapd = TrapReceiver(shared_sandbox, tmp_path)
    yield trapd
    trapd.close()
    token = shared_sandbox.central_token()
    shared_sandbox.https(1231, "/api/v1/monitoring", method="PUT", token=token,
                         json_body={"comment": "put back"}, timeout=10)  # fmt: skip


def test_traps_for_a_killed_named_and_a_pool_over_its_threshold(
    shared_sandbox: Sandbox, receiver: TrapReceiver
) -> None:
    box = shared_sandbox
    token = box.central_token()

    def figures() -> dict[str, object]:
        return dict(box.https(1231, "/api/v1/monitoring/figures", token=token).json())

    # Earlier tests on the shared sandbox may have left leases: the threshold is set just above
    # the pool's utilisation now, so that exactly one more lease passes it.
    pools = [p for p in figures()["pools"] if p["family"] == 4]  # type: ignore[attr-defined]
    assert pools and 0 < pools[0]["total"] <= 100, pools
    assigned, total = pools[0]["assigned"], pools[0]["total"]
    assert assigned < total, pools
    threshold = (100 * assigned) // total + 1
    assert (100 * (assigned + 1)) // total >= threshold
    settings = {
        "users": [{"name": USER, "auth_protocol": "sha256", "auth_passphrase": AUTH_PASS,
                   "priv_protocol": "aes128", "priv_passphrase": PRIV_PASS}],
        "receivers": [
            {"address": receiver.address, "community": TRAP_COMMUNITY},
            {"address": receiver.address, "user": USER},
        ],
        "thresholds": {"pool_utilisation_percent": threshold},
        "comment": "traps to the test receiver",
    }  # fmt: skip
    answer = box.https(1231, "/api/v1/monitoring", method="PUT", token=token, json_body=settings,
                       timeout=10)  # fmt: skip
    assert answer.status_code == 200, answer.text
    assert answer.json()["receivers"][0]["community"] == "********"

    assert not receiver.received("burrowPoolThresholdPassed")

    # Kill named by its own pid; supervisord restarts it.
    supervisor = box.supervisor()
    pid = supervisor.pid("named")
    assert pid > 0
    os.kill(pid, signal.SIGKILL)
    failed = wait_for(
        lambda: len(got := receiver.received("burrowProgramFailed", "STRING: named")) >= 2 and got,
        timeout=45, what="burrowProgramFailed as a v2c trap and a v3 inform",
    )  # fmt: skip
    assert any("exited(100)" in trap for trap in failed), failed
    wait_for(lambda: supervisor.pid("named") not in (0, pid), timeout=30, what="named restarted")
    wait_for(box.check_dns, timeout=30, what="named answering again")

    # One real lease lifts the pool over its threshold.
    lease = dhclient(box.add_client())
    assert lease.get("new_ip_address"), lease
    pool = wait_for(lambda: receiver.received("burrowPoolThresholdPassed", "burrowPoolAssigned"),
                    timeout=90, what="burrowPoolThresholdPassed")  # fmt: skip
    assert str(box.network) in pool[0], pool
    events = box.https(1231, "/api/v1/service-events", token=token).json()["items"]
    kinds = {(e["kind"], e["program"]) for e in events}
    assert ("crash", "named") in kinds
    alerts = [e for e in events if e["kind"] == "pool-threshold"]
    assert alerts and str(box.network) in alerts[0]["message"], alerts
