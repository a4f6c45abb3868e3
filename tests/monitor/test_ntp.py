"""NTP: the appliance's chrony synchronises to a real chrony server in a namespace (issue 19).

Both chronyds run with -x, so neither touches this machine's clock: the appliance's because its
state root is not ``/`` (services.common.ntp), the server's because the test says so. The
state shows in the API and over SNMP.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from services.common.proc import run
from services.sandbox.sandbox import Sandbox
from tests.harness.wait import wait_for
from tests.monitor.snmp import COMMUNITY, v2c


class NtpServer:
    """chronyd serving its own clock (local stratum 8) in a namespace on the bridge."""

    def __init__(self, box: Sandbox, directory: Path) -> None:
        client = box.add_client()
        self.ns = client.ns
        self.address = str(box.network[7])
        run(["ip", "-n", self.ns, "addr", "add", f"{self.address}/{box.network.prefixlen}",
             "dev", client.iface])  # fmt: skip
        conf = directory / "chrony.conf"
        conf.write_text(
            f"local stratum 8\nallow all\ncmdport 0\npidfile {directory}/chronyd.pid\n"
            f"driftfile {directory}/drift\n"
        )
        self.process = subprocess.Popen(
            ["ip", "netns", "exec", self.ns, "chronyd", "-d", "-x", "-f", str(conf)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_for(lambda: ":123 " in run(["ss", "-lun"], netns=self.ns).stdout, timeout=20,
                 what="the NTP server listening")  # fmt: skip

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


@pytest.fixture
def server(shared_sandbox: Sandbox, tmp_path: Path) -> Iterator[NtpServer]:
    got = NtpServer(shared_sandbox, tmp_path)
    yield got
    got.close()
    token = shared_sandbox.central_token()
    shared_sandbox.https(1231, "/api/v1/monitoring", method="PUT", token=token,
                         json_body={"comment": "put back"}, timeout=10)  # fmt: skip


def test_chrony_synchronises_to_a_server_in_a_namespace(
    shared_sandbox: Sandbox, server: NtpServer
) -> None:
    box = shared_sandbox
    token = box.central_token()
    assert " -x " in (box.root.etc / "supervisord.conf").read_text().split("[program:chrony]")[1]
    refused = box.https(1231, "/api/v1/monitoring", method="PUT", token=token,
                        json_body={"ntp_servers": ["not a host"]})  # fmt: skip
    assert refused.status_code == 422 and "ntp_servers[0]" in refused.text, refused.text

    def clock() -> dict[str, Any]:
        answer = box.https(1231, "/api/v1/monitoring/figures", token=token)
        return dict(answer.json()["time"]) if answer.status_code == 200 else {}

    assert clock().get("configured") is False
    settings = {
        "ntp_servers": [server.address],
        "communities": [
            {"name": "noc", "community": COMMUNITY, "networks": [f"{box.host_address}/32"]}
        ],
        "comment": "the test's NTP server",
    }
    answer = box.https(1231, "/api/v1/monitoring", method="PUT", token=token, json_body=settings,
                       timeout=10)  # fmt: skip
    assert answer.status_code == 200, answer.text
    assert answer.json()["ntp_servers"] == [server.address]

    state = wait_for(lambda: (c := clock()).get("synchronised") and c, timeout=90, interval=1.0,
                     what="chrony synchronised to the test's server")  # fmt: skip
    assert state["reference"] == server.address and state["sources"] == 1
    assert abs(state["offset_seconds"]) < 0.1  # one clock, two namespaces
    snmp = v2c("snmpget", box.address, COMMUNITY, "burrowNtpSynchronised.0",
               "burrowNtpReference.0")  # fmt: skip
    assert "burrowNtpSynchronised.0 = INTEGER: true(1)" in snmp.stdout, snmp
    assert f"burrowNtpReference.0 = STRING: {server.address}" in snmp.stdout
    assert "Disabled control of system clock" in (box.root.logs / "chrony.log").read_text()
