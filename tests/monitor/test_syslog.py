"""Remote syslog from a real sandbox to a real rsyslog in a namespace, over UDP and TLS.

The receiver's TLS certificate comes from a CA made by the test; the appliance is given that
CA and the name the certificate must carry. kea-dhcp4's log lines (the monitor program's
statistics commands make them) arrive at both in RFC 5424 format, and stay in the local log
file too.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.common.pki import CertificateAuthority
from services.common.proc import run
from services.sandbox.sandbox import Sandbox
from tests.harness.wait import wait_for

PEER_NAME = "syslog-receiver.example"
#: RFC 5424: <PRI>VERSION TIMESTAMP HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA MSG
RFC5424 = re.compile(r"^<\d{1,3}>1 \d{4}-\d\d-\d\dT\S+ (?P<host>\S+) (?P<app>\S+) \S+ \S+ \S+ ")


class SyslogReceiver:
    """rsyslogd in a namespace on the sandbox's bridge: UDP 514 and TLS 6514 to two files."""

    def __init__(self, box: Sandbox, directory: Path) -> None:
        self.dir = directory
        client = box.add_client()
        self.ns = client.ns
        self.address = str(box.network[8])
        run(["ip", "-n", self.ns, "addr", "add", f"{self.address}/{box.network.prefixlen}",
             "dev", client.iface])  # fmt: skip
        ca = CertificateAuthority(directory / "ca")
        ca.create("Syslog test CA")
        ca.issue(directory, "receiver", server_names=[PEER_NAME], common_name=PEER_NAME)
        self.ca_pem = (directory / "ca/ca.crt").read_text()
        (directory / "work").mkdir()
        conf = directory / "rsyslog.conf"
        conf.write_text(f"""
global(workDirectory="{directory}/work"
       defaultNetstreamDriverCAFile="{directory}/ca/ca.crt"
       defaultNetstreamDriverCertFile="{directory}/receiver.crt"
       defaultNetstreamDriverKeyFile="{directory}/receiver.key")
module(load="imudp")
module(load="imtcp" streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode="anon")
template(name="raw" type="string" string="%rawmsg%\\n")
ruleset(name="udp") {{ action(type="omfile" file="{directory}/udp.log" template="raw") }}
ruleset(name="tls") {{ action(type="omfile" file="{directory}/tls.log" template="raw") }}
input(type="imudp" address="{self.address}" port="514" ruleset="udp")
input(type="imtcp" address="{self.address}" port="6514" ruleset="tls")
""")
        self.process = subprocess.Popen(
            ["ip", "netns", "exec", self.ns, "rsyslogd", "-n", "-iNONE", "-f", str(conf)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_for(lambda: ":6514" in run(["ss", "-ltn"], netns=self.ns).stdout, timeout=20,
                 what="the receiver listening")  # fmt: skip

    def lines(self, kind: str) -> list[str]:
        try:
            return (self.dir / f"{kind}.log").read_text().splitlines()
        except FileNotFoundError:
            return []

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


@pytest.fixture
def receiver(shared_sandbox: Sandbox, tmp_path: Path) -> Iterator[SyslogReceiver]:
    got = SyslogReceiver(shared_sandbox, tmp_path)
    yield got
    got.close()
    token = shared_sandbox.central_token()
    shared_sandbox.https(1231, "/api/v1/monitoring", method="PUT", token=token,
                         json_body={"comment": "put back"}, timeout=10)  # fmt: skip


def test_program_logs_reach_rsyslog_over_udp_and_tls(
    shared_sandbox: Sandbox, receiver: SyslogReceiver
) -> None:
    box = shared_sandbox
    token = box.central_token()
    bad = {"syslog": [{"address": receiver.address, "protocol": "tls"}]}
    refused = box.https(1231, "/api/v1/monitoring", method="PUT", token=token, json_body=bad)
    assert refused.status_code == 422 and "syslog[0]" in refused.text, refused.text
    settings = {
        "syslog": [
            {"address": receiver.address, "protocol": "udp"},
            {"address": receiver.address, "protocol": "tls", "ca_certificate": receiver.ca_pem,
             "peer_name": PEER_NAME},
        ],
        "comment": "logs to the test receiver",
    }  # fmt: skip
    answer = box.https(1231, "/api/v1/monitoring", method="PUT", token=token, json_body=settings,
                       timeout=10)  # fmt: skip
    assert answer.status_code == 200, answer.text

    def arrived() -> bool:
        return all(
            any(" kea-dhcp4 " in line and "STAT_CMDS" in line for line in receiver.lines(kind))
            for kind in ("udp", "tls")
        )

    try:
        wait_for(arrived, timeout=90, interval=1.0, what="kea-dhcp4's log over UDP and TLS")
    except AssertionError as exc:
        logs = {name: (box.root.logs / f"{name}.log").read_text()[-1500:]
                for name in ("syslog", "monitor", "kea-dhcp4")}  # fmt: skip
        conf = (box.root.etc / "rsyslog.conf").read_text()
        raise AssertionError(f"{exc}; udp {receiver.lines('udp')[-3:]}, tls "
                             f"{receiver.lines('tls')[-3:]}; {logs}; {conf}") from None  # fmt: skip
    for kind in ("udp", "tls"):
        line = next(x for x in receiver.lines(kind) if " kea-dhcp4 " in x and "STAT_CMDS" in x)
        match = RFC5424.match(line)
        assert match, line
        assert match["host"] == box.settings().hostname and match["app"] == "kea-dhcp4"
        message = line[match.end() :]
        assert message in (box.root.logs / "kea-dhcp4.log").read_text()  # kept locally too
