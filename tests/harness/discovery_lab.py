"""A small network for discovery: a router namespace with a bridge, a scanner namespace and
host namespaces on it, and net-snmp's snmpd in the router.

Nothing leaves these namespaces: they are joined to each other only, never to this machine,
so the 198.51.100.0/24 inside them clashes with nothing outside. The router's neighbour table
can be filled with permanent entries on extra veth interfaces (no packet is sent for them),
as a router with several VLAN interfaces would have learnt them.
"""

from __future__ import annotations

import ipaddress
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from services.common.proc import run
from services.sandbox import netns
from tests.harness.netns import plug

NETWORK = ipaddress.IPv4Network("198.51.100.0/24")
ROUTER = NETWORK[1]
SCANNER = NETWORK[2]
COMMUNITY = "lab-community-1"
V3_USER = "labv3"
V3_AUTH = "lab-auth-passphrase"
V3_PRIV = "lab-priv-passphrase"


class DiscoveryFailedError(AssertionError):
    def __init__(self, code: int, stderr: str) -> None:
        super().__init__(f"discovery failed ({code}): {stderr[-800:]}")
        self.code, self.stderr = code, stderr


def host_address(index: int) -> ipaddress.IPv4Address:
    return NETWORK[10 + index]


class DiscoveryLab:
    """``hosts`` live host namespaces; ``start_snmpd()`` runs snmpd in the router."""

    def __init__(self, prefix: str, hosts: int) -> None:
        self.router = f"{prefix}dlr"
        self.scanner = f"{prefix}dls"
        self.hosts = [f"{prefix}dlh{i}" for i in range(hosts)]
        self.snmpd: subprocess.Popen[bytes] | None = None
        self.tmp = Path(tempfile.mkdtemp(prefix="bw-disc-"))
        self.extra_ports = 0

    def __enter__(self) -> DiscoveryLab:
        try:
            self._build()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _plug(self, ns: str, port: str, address: ipaddress.IPv4Address) -> None:
        plug(self.router, ns, port, address, NETWORK)

    def _build(self) -> None:
        netns.add(self.router)
        run(["ip", "-n", self.router, "link", "add", "br0", "type", "bridge",
             "stp_state", "0", "forward_delay", "0"])  # fmt: skip
        run(["ip", "-n", self.router, "addr", "add", f"{ROUTER}/{NETWORK.prefixlen}",
             "dev", "br0"])  # fmt: skip
        run(["ip", "-n", self.router, "link", "set", "br0", "up"])
        self._plug(self.scanner, "pscan", SCANNER)
        for index, ns in enumerate(self.hosts):
            self._plug(ns, f"phost{index}", host_address(index))

    def add_neighbours(self, per_port: int, ports: int) -> int:
        """Permanent neighbour entries in the router: the first ``per_port`` addresses of
        NETWORK on each of ``ports`` new interfaces (the same address on two interfaces is two
        entries)."""
        lines = []
        for _ in range(ports):
            port = f"vlan{self.extra_ports}"
            self.extra_ports += 1
            run(["ip", "-n", self.router, "link", "add", port, "type", "veth",
                 "peer", "name", f"{port}p"])  # fmt: skip
            for name in (port, f"{port}p"):
                run(["ip", "-n", self.router, "link", "set", name, "up"])
            for index in range(per_port):
                mac = f"02:00:{self.extra_ports:02x}:00:{index // 256:02x}:{index % 256:02x}"
                lines.append(f"neigh replace {NETWORK[1 + index]} lladdr {mac} dev {port} "
                             "nud permanent")  # fmt: skip
        run(["ip", "-n", self.router, "-batch", "-"], input_text="\n".join(lines) + "\n")
        return len(lines)

    def start_snmpd(self) -> None:
        """snmpd in the router on ROUTER:161: the community (v2c, v1) from the scanner only,
        and a v3 user with authPriv (SHA-256, AES-128)."""
        conf = self.tmp / "snmpd.conf"
        conf.write_text(
            f"agentAddress udp:{ROUTER}:161\n"
            f'createUser {V3_USER} SHA-256 "{V3_AUTH}" AES "{V3_PRIV}"\n'
            f"rouser {V3_USER} priv\n"
            f"rocommunity {COMMUNITY} {SCANNER}\n"
        )
        env = {**os.environ, "SNMP_PERSISTENT_DIR": str(self.tmp / "persist"), "MIBS": ""}
        self.snmpd = subprocess.Popen(
            ["ip", "netns", "exec", self.router, "snmpd", "-f", "-Lf", str(self.tmp / "log"),
             "-C", "-c", str(conf), "-p", str(self.tmp / "pid")],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip

    def discover(self, *args: str, timeout: float = 120.0) -> tuple[Any, str]:
        """``python -m central.discovery ARGS`` run in the scanner: its JSON and its stderr."""
        proc = subprocess.run(
            ["ip", "netns", "exec", self.scanner, sys.executable, "-m", "central.discovery",
             *args],
            capture_output=True, text=True, timeout=timeout, check=False,
        )  # fmt: skip
        if proc.returncode != 0:
            raise DiscoveryFailedError(proc.returncode, proc.stderr)
        return json.loads(proc.stdout), proc.stderr

    def close(self) -> None:
        if self.snmpd is not None and self.snmpd.poll() is None:
            # ``ip netns exec`` execs snmpd: this pid is snmpd's own
            self.snmpd.send_signal(signal.SIGTERM)
            try:
                self.snmpd.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.snmpd.kill()
                self.snmpd.wait(timeout=10)
        for ns in (self.scanner, *self.hosts, self.router):
            netns.delete(ns)
        shutil.rmtree(self.tmp, ignore_errors=True)
