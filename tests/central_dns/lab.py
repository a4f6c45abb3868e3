"""A DNS lab around a sandbox: a second named acting as upstream and primary, and a client.

Both live in client namespaces on the sandbox's bridge (the sandbox's own test network, nothing
else): the upstream named serves a few zones of its own authoritatively, logs every query it
gets, and allows zone transfers; the client asks the sandbox's named with dig, from its own
address.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import dns.message
import dns.query
import dns.rcode
import dns.rdatatype

from services.common.proc import run
from services.sandbox.sandbox import Client, Sandbox
from tests.harness.wait import wait_for

#: Zones the upstream serves, with one A record each; the data says who answered.
UPSTREAM_ZONES = ("up.test.", "fwd.test.", "xfr.test.", "stub.test.")
UPSTREAM_CONF = """\
options {{
    directory "{dir}";
    pid-file "{dir}/named.pid";
    listen-on {{ {address}; }};
    listen-on-v6 {{ none; }};
    recursion no;
    allow-transfer {{ any; }};
    dnssec-validation no;
    notify no;
    querylog yes;
}};
controls {{ }};
logging {{
    channel queries {{ file "{dir}/queries.log"; print-time yes; }};
    category queries {{ queries; }};
}};
{zones}
"""
ZONE_TEXT = """\
$TTL 300
@    IN SOA ns1 hostmaster 7 3600 900 1209600 300
@    IN NS  ns1
ns1  IN A   {address}
www  IN A   {www}
host IN A   {host}
@    IN TXT "served by the upstream"
"""


def upstream_data(zone: str) -> dict[str, str]:
    """The A records of ``zone`` on the upstream (distinct per zone)."""
    index = UPSTREAM_ZONES.index(zone) + 1
    return {f"www.{zone}": f"203.0.113.{100 + index}", f"host.{zone}": f"203.0.113.{150 + index}"}


@dataclass
class Reply:
    """What dig saw: the status and the answer's data for the type asked."""

    status: str
    data: set[str]
    recursion_available: bool


class Lab:
    """The upstream named and a client, on addresses 5 and 6 of the sandbox's network."""

    def __init__(self, box: Sandbox) -> None:
        self.box = box
        self.upstream_address = str(box.network[5])
        self.client_address = str(box.network[6])
        self.work = Path(tempfile.mkdtemp(prefix="bw-lab-", dir="/tmp"))
        self.proc: subprocess.Popen[bytes] | None = None
        self.upstream: Client | None = None
        self.client: Client | None = None

    def _plug(self, address: str) -> Client:
        client = self.box.add_client()
        prefix = self.box.network.prefixlen
        run(["ip", "-n", client.ns, "addr", "add", f"{address}/{prefix}", "dev", "eth0"])
        run(["ip", "-n", client.ns, "link", "set", "lo", "up"])
        return client

    def start(self) -> None:
        self.upstream = self._plug(self.upstream_address)
        self.client = self._plug(self.client_address)
        zones = []
        for zone in UPSTREAM_ZONES:
            data = upstream_data(zone)
            path = self.work / f"db.{zone.rstrip('.')}"
            path.write_text(
                ZONE_TEXT.format(
                    address=self.upstream_address,
                    www=data[f"www.{zone}"],
                    host=data[f"host.{zone}"],
                )
            )
            zones.append(f'zone "{zone}" {{ type primary; file "{path}"; }};')
        conf = self.work / "named.conf"
        conf.write_text(
            UPSTREAM_CONF.format(
                dir=self.work, address=self.upstream_address, zones="\n".join(zones)
            )
        )
        run(["named-checkconf", "-z", str(conf)])
        log = (self.work / "named.out").open("wb")
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", self.upstream.ns, "named", "-f", "-c", str(conf)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        wait_for(self._up, timeout=30, interval=0.1, what="the upstream named")

    def _up(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise RuntimeError(f"the upstream named exited: {self.proc.returncode}")
        query = dns.message.make_query("up.test.", dns.rdatatype.SOA)
        return bool(dns.query.udp(query, self.upstream_address, timeout=1).answer)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        shutil.rmtree(self.work, ignore_errors=True)

    def queries_seen(self, name: str) -> list[str]:
        """Lines of the upstream's query log that ask for ``name``, with the asker's address."""
        log = self.work / "queries.log"
        if not log.exists():
            return []
        wanted = name.rstrip(".").lower()
        return [line for line in log.read_text().splitlines() if f"({wanted})" in line.lower()]

    def dig(self, name: str, rtype: str = "A", server: str | None = None) -> Reply:
        """A recursive query from the client's namespace to the sandbox's named."""
        assert self.client is not None
        out = run(
            [
                "dig", "+tries=1", "+time=3", "+noall", "+comments", "+answer",
                f"@{server or self.box.address}", name, rtype,
            ],
            netns=self.client.ns,
            check=False,
            timeout=30,
        ).stdout  # fmt: skip
        status = re.search(r"status: ([A-Z]+)", out)
        flags = re.search(r"flags: ([a-z ]*);", out)
        data = set()
        for line in out.splitlines():
            parts = line.split()
            if len(parts) >= 5 and not line.startswith(";") and parts[3] == rtype:
                data.add(" ".join(parts[4:]))
        return Reply(
            status=status.group(1) if status else "NO ANSWER",
            data=data,
            recursion_available=bool(flags and "ra" in flags.group(1).split()),
        )


def host_query(box: Sandbox, name: str, rtype: str = "A") -> dns.message.Message:
    """A recursive query from the test host (the sandbox's gateway address, another client)."""
    query = dns.message.make_query(name, dns.rdatatype.from_text(rtype))
    return dns.query.udp(query, box.address, timeout=3)


def refused(message: dns.message.Message) -> bool:
    return message.rcode() == dns.rcode.REFUSED
