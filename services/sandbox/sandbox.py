"""One appliance running in a sandbox: its namespace, bridge, state root and supervisord.

Layout of sandbox ``a`` on network 198.51.100.0/24:

    host ── bw-a (198.51.100.1) ══ veth ══ up0 ─┐
                                              br0 (198.51.100.2, 2001:db8:64::2)  namespace burrow-a
    client namespace burrow-a-c1: eth0 ══ veth ══ c1 ─┘

Every service listens on its standard port inside the namespace, so sandboxes never clash.

A sandbox may instead join a **lab** (services.sandbox.lab): several sandboxes on one shared L2
test network. Then ``up0``'s peer is a port of the lab's bridge (not a link of this machine),
the address is ``network[index]`` (``index`` 2 to 9, chosen by the lab or the caller), and only
a sandbox made with ``dhcp=True`` seeds DHCP subnets, so two Kea servers never answer the same
client. Stopping such a sandbox removes its namespace only; the lab and the other sandboxes
keep running::

    host ── bl-LAB (198.51.100.1) ══ veth ══ up0 ─ br0   namespace burrowlab-LAB
                                                    ├─ s-a ══ veth ══ up0 ─ br0 (.2)  burrow-a
                                                    ├─ s-b ══ veth ══ up0 ─ br0 (.3)  burrow-b
                                                    └─ c1  ══ veth ══ eth0  burrowlab-LAB-c1
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import logging
import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import dns.message
import dns.query
import dns.rdatatype
import httpx

from services.common import profile as profiles
from services.common.agent import mtls_context
from services.common.caching.contract import AccessRule, CachingSettings
from services.common.errors import SetupError
from services.common.paths import StateRoot
from services.common.proc import CommandError, run
from services.common.settings import ApplianceSettings, SeedSubnet4, SeedSubnet6, SeedZone
from services.common.supervisor import SupervisorView
from services.sandbox import netns

if TYPE_CHECKING:
    from services.sandbox.lab import Lab

log = logging.getLogger(__name__)

#: The documentation network (RFC 5737) that sandboxes may use. The other two are not offered:
#: on the machines Burrow is built on 192.0.2.0/24 can be the uplink and the package registries
#: can answer inside 203.0.113.0/24. A part that holds an address this machine needs is refused
#: anyway (``netns.network_clash``).
ALLOWED_NETWORKS = (ipaddress.IPv4Network("198.51.100.0/24"),)
DEFAULT_NETWORK = "198.51.100.0/24"
NAME_RE = re.compile(r"^[a-z0-9]{1,10}$")
SOURCE_TREE = Path(__file__).resolve().parents[2]
ZONE = "burrow.example."
PROGRAMS = (
    "named",
    "kea-dhcp4",
    "kea-dhcp6",
    "kea-ctrl-agent",
    "kea-dhcp-ddns",
    "central",
    "dns-dhcp-agent",
    "appliance-agent",
    "webui",
    "diag-shell",
    "monitor",
)
#: Agents by name (certificate, enrolment) and port. The dns-agent and the dhcp-agent run in
#: one supervisord program, ``dns-dhcp-agent``.
AGENT_PORTS = {"dns-agent": 1337, "dhcp-agent": 4151, "appliance-agent": 4603}
#: The programs and agents of a caching appliance (profile ``caching``): Unbound and a
#: dns-agent that drives it, no named, no Kea, no dhcp-agent.
CACHING_PROGRAMS = ("unbound", "central", "dns-agent", "appliance-agent", "webui", "diag-shell",
                    "monitor")  # fmt: skip
CACHING_AGENT_PORTS = {"dns-agent": 1337, "appliance-agent": 4603}
#: Addresses ``network[2]`` to ``network[9]`` are for appliances; DHCP pools start at 10.
FIRST_INDEX, LAST_INDEX = 2, 9


def network6_of(network: ipaddress.IPv4Network) -> ipaddress.IPv6Network:
    """The IPv6 /64 that goes with an IPv4 sandbox network (2001:db8:<third octet>::/64)."""
    third = int(network.network_address) >> 8 & 0xFF
    return ipaddress.IPv6Network(f"2001:db8:{third:x}::/64")


def bridge_mac(address: str) -> str:
    """The MAC pinned on a sandbox's br0: derived from its IPv4 address.

    A bridge takes the lowest MAC of its ports unless given one: pinned, clients plugged in
    later cannot change it under a neighbour's ARP cache, and a replacement started on the
    same address is reachable at once, as a real one is after its gratuitous ARP.
    """
    return "02:42:" + ":".join(f"{b:02x}" for b in ipaddress.IPv4Address(address).packed)


class NotReadyError(Exception):
    """A readiness check did not pass (yet)."""


@dataclass
class Client:
    """A client namespace plugged into a sandbox's bridge."""

    ns: str
    iface: str = "eth0"
    mac: str = ""


def plug_client(bridge_ns: str, side: str, client_ns: str, mac: str | None) -> Client:
    """A new namespace ``client_ns`` whose ``eth0`` is plugged into br0 of ``bridge_ns``.

    ``side`` names the bridge's port; ``mac`` (optional) is set on ``eth0``.
    """
    client = Client(ns=client_ns)
    netns.delete(client.ns)
    netns.add(client.ns)
    run(
        [
            "ip",
            "-n",
            bridge_ns,
            "link",
            "add",
            side,
            "type",
            "veth",
            "peer",
            "name",
            "eth0",
            "netns",
            client.ns,
        ]
    )
    run(["ip", "-n", bridge_ns, "link", "set", side, "master", "br0"])
    run(["ip", "-n", bridge_ns, "link", "set", side, "up"])
    if mac:
        run(["ip", "-n", client.ns, "link", "set", "eth0", "address", mac])
    run(["ip", "-n", client.ns, "link", "set", "eth0", "up"])
    out = run(["ip", "-n", client.ns, "-j", "link", "show", "eth0"]).stdout
    client.mac = json.loads(out)[0]["address"]
    return client


@dataclass
class Sandbox:
    """A whole appliance on this machine (see the module docstring for the layout)."""

    name: str = "a"
    network: ipaddress.IPv4Network = field(
        default_factory=lambda: ipaddress.IPv4Network(DEFAULT_NETWORK)
    )
    root_dir: Path | None = None
    clients: list[Client] = field(default_factory=list)
    process: subprocess.Popen[bytes] | None = None
    #: The lab this sandbox joins (None: a network of its own, with a host link).
    lab: Lab | None = None
    #: Its address is ``network[index]`` (2 unless in a lab).
    index: int = FIRST_INDEX
    #: Seed a DHCPv4 and a DHCPv6 subnet on the sandbox network at the first start.
    dhcp: bool = True
    #: The appliance's profile (services.common.profile), written into its root at each start.
    profile: profiles.Profile = profiles.DEFAULT

    def __post_init__(self) -> None:
        if not NAME_RE.match(self.name):
            raise SetupError(
                f"Sandbox name {self.name!r} is not allowed.",
                hint="use 1 to 10 lower-case letters or digits",
            )
        if not any(self.network.subnet_of(allowed) for allowed in ALLOWED_NETWORKS):
            raise SetupError(
                f"Network {self.network} is not part of 198.51.100.0/24.",
                hint="use 198.51.100.0/24 or a /25 to /27 part of it",
            )
        if self.profile not in profiles.PROFILES:
            raise SetupError(
                f"Profile {self.profile!r} is not known.",
                hint=f"use one of: {', '.join(profiles.PROFILES)}",
            )
        if self.network.prefixlen > 27:
            raise SetupError(f"Network {self.network} is too small.", hint="use /24 to /27")
        if not FIRST_INDEX <= self.index <= LAST_INDEX:
            raise SetupError(
                f"Address index {self.index} is not for an appliance.",
                hint=f"use {FIRST_INDEX} to {LAST_INDEX} (DHCP pools start at 10)",
            )
        if self.lab is not None and self.network != self.lab.network:
            raise SetupError(f"Sandbox network {self.network} is not the lab's {self.lab.network}.")
        if self.root_dir is None:
            self.root_dir = Path("/var/tmp/burrow") / self.name  # noqa: S108 - kept on purpose
        self.root = StateRoot.at(self.root_dir)

    # --- names and addresses --------------------------------------------------
    @property
    def ns(self) -> str:
        return f"burrow-{self.name}"

    @property
    def host_link(self) -> str:
        """This machine's link to the sandbox network (the lab's, in a lab)."""
        return self.lab.host_link if self.lab is not None else f"bw-{self.name}"

    @property
    def lab_link(self) -> str:
        """In a lab: the lab bridge's port that leads to this sandbox's ``up0``."""
        return f"s-{self.name}"

    @property
    def host_address(self) -> str:
        return str(self.network[1])

    @property
    def address(self) -> str:
        return str(self.network[self.index])

    @property
    def network6(self) -> ipaddress.IPv6Network:
        return network6_of(self.network)

    @property
    def address6(self) -> str:
        return str(self.network6[self.index])

    @property
    def ca_file(self) -> Path:
        return self.root.pki / "ca/ca.crt"

    @property
    def zone(self) -> str:
        return ZONE

    @property
    def caching(self) -> bool:
        """A caching appliance (Unbound, no DHCP) rather than a DNS/DHCP one."""
        return self.profile == "caching"

    @property
    def programs(self) -> tuple[str, ...]:
        """The supervisord programs this sandbox runs whatever the machine (chrony and syslog
        run only where installed)."""
        return CACHING_PROGRAMS if self.caching else PROGRAMS

    @property
    def agent_ports(self) -> dict[str, int]:
        return CACHING_AGENT_PORTS if self.caching else AGENT_PORTS

    # --- lifecycle --------------------------------------------------------------
    def settings(self) -> ApplianceSettings:
        net = self.network
        dhcp = self.dhcp and not self.caching
        return ApplianceSettings(
            hostname=f"burrow-{self.name}",
            interface="br0",
            address=ipaddress.IPv4Interface(f"{self.address}/{net.prefixlen}"),
            address6=ipaddress.IPv6Interface(f"{self.address6}/64"),
            dhcp_interfaces=["br0"],
            seed_zone=SeedZone(name=ZONE),
            seed_subnet4=SeedSubnet4(
                subnet=net,
                pool_start=net[100] if net.num_addresses > 200 else net[10],
                pool_end=net[199] if net.num_addresses > 200 else net[-2],
                routers=[ipaddress.IPv4Address(self.address)],
            )
            if dhcp
            else None,
            seed_subnet6=SeedSubnet6(
                subnet=self.network6,
                pool_start=self.network6[0x100],
                pool_end=self.network6[0x1FF],
            )
            if dhcp
            else None,
        )

    def caching_settings(self) -> CachingSettings:
        """A caching sandbox's first settings: Unbound's defaults, and its own network (where
        this machine and the client namespaces are) allowed to query."""
        mine = [
            AccessRule.model_validate({"network": str(net), "action": "allow"})
            for net in (self.network, self.network6)
        ]
        return CachingSettings(access=[*CachingSettings().access, *mine])

    def create_network(self) -> None:
        if self.lab is not None:
            self._join_lab(self.lab)
            return
        clash = netns.network_clash(self.network)
        if clash:
            raise SetupError(
                f"{clash[0].upper()}{clash[1:]}.",
                hint="choose another --network, a part of 198.51.100.0/24",
            )
        if netns.exists(self.ns) or netns.link_exists(self.host_link):
            raise SetupError(
                f"A sandbox named {self.name!r} is already running or was left behind.",
                hint=f"stop it, or remove it with: ./build.sh dev --clean {self.name}",
            )
        netns.add(self.ns)
        ns = self.ns
        run(
            [
                "ip",
                "link",
                "add",
                self.host_link,
                "type",
                "veth",
                "peer",
                "name",
                "up0",
                "netns",
                ns,
            ]
        )
        self._make_bridge()
        run(
            [
                "ip",
                "addr",
                "add",
                f"{self.host_address}/{self.network.prefixlen}",
                "dev",
                self.host_link,
            ]
        )
        run(["ip", "link", "set", self.host_link, "up"])

    def _join_lab(self, lab: Lab) -> None:
        """Make the namespace with ``up0`` plugged into the lab's bridge (no host link)."""
        lab.check_joining(self)
        if netns.exists(self.ns):
            raise SetupError(
                f"A sandbox named {self.name!r} is already running or was left behind.",
                hint=f"stop it, or remove it with: ./build.sh dev --clean {self.name}",
            )
        netns.add(self.ns)
        try:
            run(
                [
                    "ip",
                    "-n",
                    lab.ns,
                    "link",
                    "add",
                    self.lab_link,
                    "type",
                    "veth",
                    "peer",
                    "name",
                    "up0",
                    "netns",
                    self.ns,
                ]
            )
            run(["ip", "-n", lab.ns, "link", "set", self.lab_link, "master", "br0"])
            run(["ip", "-n", lab.ns, "link", "set", self.lab_link, "up"])
            self._make_bridge()
        except BaseException:
            netns.delete(self.ns)
            raise

    def _make_bridge(self) -> None:
        """br0 inside the sandbox with ``up0`` as a port and the sandbox's addresses."""
        ns = self.ns
        netns.add_bridge(ns, "up0", mac=bridge_mac(self.address))
        run(
            [
                "ip",
                "-n",
                ns,
                "addr",
                "add",
                f"{self.address}/{self.network.prefixlen}",
                "dev",
                "br0",
            ]
        )
        run(["ip", "-n", ns, "addr", "add", f"{self.address6}/64", "dev", "br0", "nodad"])
        run(["ip", "-n", ns, "link", "set", "up0", "up"])
        run(["ip", "-n", ns, "link", "set", "br0", "up"])

    def start(self, *, timeout: float = 90.0, network_ready: bool = False) -> None:
        """Create the network, write settings if new, start supervisord, wait until ready."""
        if not network_ready:
            self.create_network()
        try:
            self.root.make_dirs()
            if not self.root.appliance_settings.exists():
                self.settings().save(self.root.appliance_settings)
            elif (was := profiles.load(self.root)) != self.profile:
                raise SetupError(
                    f"The state root {self.root.root} is a {was} appliance's, not {self.profile}.",
                    hint="start from an empty state root (--fresh) or use another --name",
                )
            profiles.save(self.root, self.profile)
            if self.caching and not self.root.caching_settings.exists():
                self.caching_settings().save(self.root.caching_settings)
            fd = os.open(self.root.logs / "launch.log", os.O_WRONLY | os.O_APPEND | os.O_CREAT,
                         0o640)  # fmt: skip
            launch_log = os.fdopen(fd, "ab")
            env = dict(os.environ)
            env["PYTHONPATH"] = str(SOURCE_TREE)
            self.process = subprocess.Popen(
                [
                    "ip",
                    "netns",
                    "exec",
                    self.ns,
                    sys.executable,
                    "-m",
                    "services.common.launch",
                    "--root",
                    str(self.root.root),
                ],
                stdin=subprocess.DEVNULL,
                stdout=launch_log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env=env,
                cwd=str(SOURCE_TREE),
            )
            launch_log.close()
            self.wait_ready(timeout=timeout)
        except BaseException:
            self.stop(remove_root=False)
            raise

    def stop(self, *, remove_root: bool = False) -> None:
        """Stop supervisord and everything it started; remove namespaces and links.

        In a lab, only this sandbox's namespace (and its port on the lab bridge) goes: the lab,
        its clients and the other sandboxes keep running.
        """
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None
        for client in self.clients:
            netns.delete(client.ns)
        self.clients.clear()
        netns.delete(self.ns)
        if self.lab is None:
            netns.delete_link(self.host_link)
        elif netns.exists(self.lab.ns) and netns.link_exists(self.lab_link, self.lab.ns):
            with contextlib.suppress(CommandError):
                run(["ip", "-n", self.lab.ns, "link", "del", self.lab_link])
        if remove_root and self.root_dir is not None:
            shutil.rmtree(self.root_dir, ignore_errors=True)

    def __enter__(self) -> Sandbox:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- clients ----------------------------------------------------------------
    def add_client(self, mac: str | None = None) -> Client:
        """A new namespace with ``eth0`` on the sandbox's bridge (no address: DHCP gets one)."""
        index = len(self.clients) + 1
        client = plug_client(self.ns, f"c{index}", f"{self.ns}-c{index}", mac)
        self.clients.append(client)
        return client

    # --- views ------------------------------------------------------------------
    def supervisor(self) -> SupervisorView:
        return SupervisorView(self.root.supervisor_socket)

    def dns_query(self, name: str, rdtype: str = "A", timeout: float = 1.0) -> dns.message.Message:
        query = dns.message.make_query(name, dns.rdatatype.from_text(rdtype))
        return dns.query.udp(query, self.address, timeout=timeout)

    def rndc(self, *args: str) -> str:
        return run(
            ["rndc", "-c", str(self.root.rndc_conf), *args], netns=self.ns, timeout=15
        ).stdout

    def kea(
        self,
        command: str,
        service: str = "dhcp4",
        arguments: dict[str, Any] | None = None,
        timeout: float = 10.0,
    ) -> dict[str, Any]:
        """One command through the Kea Control Agent (inside the namespace, basic auth)."""
        body: dict[str, Any] = {"command": command, "service": [service]}
        if arguments is not None:
            body["arguments"] = arguments
        password = self.root.kea_api_password.read_text().strip()
        out = run(
            [
                "curl",
                "-sS",
                "--max-time",
                str(timeout),
                "-u",
                f"burrow:{password}",
                "-H",
                "Content-Type: application/json",
                "--data-binary",
                "@-",
                "http://127.0.0.1:8000/",
            ],
            netns=self.ns,
            input_text=json.dumps(body),
            timeout=timeout + 5,
        ).stdout
        answer = json.loads(out)
        if isinstance(answer, dict):  # 401 and other agent-level failures
            return answer
        return dict(answer[0])

    def tls_context(self) -> ssl.SSLContext:
        """Trusts this appliance's CA only and presents Central's client certificate.

        Agents accept only mutual TLS (services.common.agent): the harness calls them the way
        Central does. Servers that ask for no client certificate never see it.
        """
        return mtls_context(self.root)

    def https(
        self,
        port: int,
        path: str,
        timeout: float = 2.0,
        *,
        method: str = "GET",
        token: str | None = None,
        json_body: Any = None,
    ) -> httpx.Response:
        """One HTTPS request to a service of the appliance (``token``: Central bearer token)."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.request(
            method,
            f"https://{self.address}:{port}{path}",
            verify=self.tls_context(),
            timeout=timeout,
            headers=headers,
            json=json_body,
        )

    def admin_credentials(self) -> tuple[str, str]:
        """The first administrator's name and generated password (shown once by Central)."""
        text = (self.root.secrets / "initial-admin-password").read_text()
        fields = dict(line.split(": ", 1) for line in text.splitlines() if ": " in line)
        return fields["username"], fields["password"]

    def central_token(self) -> str:
        """A Central session token of the first administrator."""
        username, password = self.admin_credentials()
        response = self.https(
            1231,
            "/api/v1/auth/login",
            method="POST",
            json_body={"username": username, "password": password},
            timeout=10,
        )
        response.raise_for_status()
        return str(response.json()["token"])

    # --- readiness --------------------------------------------------------------
    def check_dns(self) -> bool:
        if self.caching:
            return self.check_unbound()
        try:
            answer = self.dns_query(ZONE, "SOA", timeout=0.5)
        except Exception as exc:
            raise NotReadyError(f"named: {exc}") from exc
        if not answer.answer:
            raise NotReadyError("named: no SOA answer")
        return True

    def check_unbound(self) -> bool:
        """Unbound answers from its own data (``localhost.`` is one of its default local
        zones): no forwarder or Internet needed."""
        try:
            answer = self.dns_query("localhost.", "A", timeout=0.5)
        except Exception as exc:
            raise NotReadyError(f"unbound: {exc}") from exc
        if not answer.answer:
            raise NotReadyError(f"unbound: no answer for localhost. (rcode {answer.rcode()})")
        return True

    def unbound_control(self, *args: str) -> str:
        """``unbound-control`` inside the namespace, over the appliance's control socket."""
        return run(
            ["unbound-control", "-c", str(self.root.unbound_conf), *args], netns=self.ns,
            timeout=15,
        ).stdout  # fmt: skip

    def check_kea(self) -> bool:
        if self.caching:
            return True
        for service in ("dhcp4", "dhcp6"):
            try:
                answer = self.kea("status-get", service, timeout=2)
            except Exception as exc:
                raise NotReadyError(f"kea {service}: {exc}") from exc
            if answer.get("result") != 0:
                raise NotReadyError(f"kea {service}: {answer.get('text')}")
        return True

    def check_central(self) -> bool:
        try:
            response = self.https(1231, "/api/v1/health", timeout=1)
        except Exception as exc:
            raise NotReadyError(f"central: {exc}") from exc
        if response.status_code != 200:
            raise NotReadyError(f"central: HTTP {response.status_code}")
        return True

    def check_agents(self) -> bool:
        for name, port in self.agent_ports.items():
            try:
                response = self.https(port, "/health", timeout=1)
            except Exception as exc:
                raise NotReadyError(f"{name}: {exc}") from exc
            if response.status_code != 200:
                raise NotReadyError(f"{name}: HTTP {response.status_code}")
        try:
            self.https(443, "/health", timeout=1).raise_for_status()
        except Exception as exc:
            raise NotReadyError(f"webui: {exc}") from exc
        return True

    def check_supervisor(self) -> bool:
        try:
            states = self.supervisor().states()
        except Exception as exc:
            raise NotReadyError(f"supervisord: {exc}") from exc
        bad = {k: v for k, v in states.items() if v != "RUNNING"}
        fatal = [k for k, v in bad.items() if v == "FATAL"]
        if fatal:
            log_file = self.root.logs / f"{fatal[0]}.log"
            tail = log_file.read_text()[-1500:] if log_file.exists() else "(no log)"
            raise SetupError(f"{fatal[0]} could not start (FATAL); its log ends: {tail}")
        if bad:
            raise NotReadyError(f"supervisord: {bad}")
        return True

    def check_all(self) -> bool:
        self.check_supervisor()
        self.check_dns()
        self.check_kea()
        self.check_central()
        self.check_agents()
        return True

    def wait_ready(self, timeout: float = 90.0) -> None:
        """Wait until every real health check passes; raise with the last reason if not."""
        deadline = time.monotonic() + timeout
        reason = "not checked"
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                tail = (self.root.logs / "launch.log").read_text()[-2000:]
                raise SetupError(f"The appliance stopped while starting: {tail.strip()}")
            try:
                self.check_all()
                return
            except NotReadyError as exc:
                reason = str(exc)
            time.sleep(0.1)
        raise SetupError(f"The sandbox was not ready after {timeout:.0f} s: {reason}")


def clean(name: str) -> None:
    """Remove what a sandbox or lab named ``name`` left behind (processes, namespaces, links)."""
    for ns in (f"burrow-{name}", f"burrowlab-{name}"):
        run_dir = Path("/run/netns")
        for entry in sorted(run_dir.glob(f"{ns}-c*")) if run_dir.exists() else []:
            netns.delete(entry.name)
        netns.delete(ns)
    netns.delete_link(f"bw-{name}")
    netns.delete_link(f"bl-{name}")
