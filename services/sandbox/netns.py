"""Network namespaces and veth links for sandboxes and test clients (iproute2)."""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import re
import signal
import socket
import time
from pathlib import Path

from services.common.proc import CommandError, run


def exists(ns: str) -> bool:
    return Path("/run/netns", ns).exists()


def link_exists(name: str, ns: str | None = None) -> bool:
    argv = ["ip", *(["-n", ns] if ns else []), "link", "show", "dev", name]
    return run(argv, check=False).returncode == 0


def host_route_overlapping(network: ipaddress.IPv4Network) -> str | None:
    """A route of this machine (main namespace) that overlaps ``network``, if any."""
    out = run(["ip", "-j", "-4", "route", "show", "table", "all"]).stdout
    for route in json.loads(out or "[]"):
        dst = route.get("dst", "")
        if dst in ("", "default") or route.get("type") in ("broadcast", "local"):
            if route.get("type") == "local" and dst:
                with contextlib.suppress(ValueError):
                    if ipaddress.ip_address(dst) in network:
                        return f"{dst} (an address of this machine)"
            continue
        with contextlib.suppress(ValueError):
            if ipaddress.IPv4Network(dst, strict=False).overlaps(network):
                return f"{dst} (dev {route.get('dev', '?')})"
    return None


#: Package registries the project installs from, besides the hosts named by apt's sources and
#: pip's index settings.
REGISTRY_HOSTS = ("deb.debian.org", "security.debian.org", "pypi.org", "files.pythonhosted.org",
                  "registry.npmjs.org")  # fmt: skip


def needed_addresses() -> dict[ipaddress.IPv4Address, str]:
    """Addresses this machine needs outside any sandbox, each with the reason it is needed:
    its own addresses, its gateways, its DNS resolvers and the addresses its resolvers give
    for the package registries it installs from. A sandbox network holding one of them would
    route that address into the sandbox (apt, pip and name lookups would then fail)."""
    needed: dict[ipaddress.IPv4Address, str] = {}

    def note(text: str, why: str) -> None:
        with contextlib.suppress(ValueError):
            address = ipaddress.ip_address(text.split("%")[0])
            if isinstance(address, ipaddress.IPv4Address) and not address.is_loopback:
                needed.setdefault(address, why)

    for link in json.loads(run(["ip", "-j", "-4", "addr", "show"]).stdout or "[]"):
        for info in link.get("addr_info", []):
            note(str(info.get("local", "")), f"an address of this machine ({link.get('ifname')})")
    for route in json.loads(
        run(["ip", "-j", "-4", "route", "show", "table", "all"]).stdout or "[]"
    ):
        if route.get("gateway"):
            note(str(route["gateway"]), "this machine's gateway")
    with contextlib.suppress(OSError):
        for line in Path("/etc/resolv.conf").read_text().splitlines():
            parts = line.split()
            if len(parts) >= 2 and parts[0] == "nameserver":
                note(parts[1], "this machine's DNS resolver")
    for host in registry_hosts():
        with contextlib.suppress(OSError):
            for *_rest, sockaddr in socket.getaddrinfo(host, 443, socket.AF_INET):
                note(str(sockaddr[0]), f"the package registry {host}")
    return needed


def registry_hosts() -> list[str]:
    """The hosts of apt's sources, pip's index settings and the usual registries."""
    hosts = set(REGISTRY_HOSTS)
    sources = [Path("/etc/apt/sources.list"), *Path("/etc/apt/sources.list.d").glob("*")]
    texts = []
    for path in sources:
        if path.suffix in (".list", ".sources") or path.name == "sources.list":
            with contextlib.suppress(OSError):
                texts.append(path.read_text())
    for name in ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL"):
        texts.append(os.environ.get(name, ""))
    for path in (
        Path("/etc/pip.conf"),
        Path("/etc/xdg/pip/pip.conf"),
        Path.home() / ".config/pip/pip.conf",
    ):
        with contextlib.suppress(OSError):
            texts.append(path.read_text())
    for text in texts:
        for line in text.splitlines():
            line = line.split("#", 1)[0]
            hosts.update(re.findall(r"(?:https?|file)://([A-Za-z0-9.-]+)", line))
    hosts.discard("")
    return sorted(hosts)


def network_clash(network: ipaddress.IPv4Network) -> str | None:
    """Why ``network`` cannot be a sandbox's or a lab's network, or None if it can."""
    route = host_route_overlapping(network)
    if route:
        return f"this machine already routes {route}, which overlaps {network}"
    for address, why in sorted(needed_addresses().items()):
        if address in network:
            return f"{network} holds {address}, {why}"
    return None


def add(ns: str) -> None:
    run(["ip", "netns", "add", ns])
    run(["ip", "-n", ns, "link", "set", "lo", "up"])


def add_bridge(ns: str, port: str, *, mac: str | None = None, addresses: bool = True) -> None:
    """``br0`` in ``ns`` (no spanning tree, no forwarding delay) with ``port`` as a port.

    ``mac`` pins the bridge's address (a bridge otherwise takes the lowest of its ports' and
    changes it under its neighbours' caches as ports come and go); ``addresses=False``: a
    bridge that only forwards gets no IPv6 link-local address either.
    """
    bridge = ["ip", "-n", ns, "link", "add", "br0", "type", "bridge"]
    run([*bridge, "stp_state", "0", "forward_delay", "0"])
    if mac is not None:
        run(["ip", "-n", ns, "link", "set", "br0", "address", mac])
    if not addresses:
        run(["ip", "-n", ns, "link", "set", "br0", "addrgenmode", "none"])
    run(["ip", "-n", ns, "link", "set", port, "master", "br0"])


def pids(ns: str) -> list[int]:
    out = run(["ip", "netns", "pids", ns], check=False).stdout
    return [int(p) for p in out.split() if p.isdigit()]


def kill_all(ns: str, timeout: float = 10.0) -> None:
    """End every process left in ``ns`` (processes that this sandbox started), TERM then KILL."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids(ns):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + timeout
        while pids(ns) and time.monotonic() < deadline:
            time.sleep(0.05)
        if not pids(ns):
            return


def delete(ns: str) -> None:
    if exists(ns):
        kill_all(ns)
        with contextlib.suppress(CommandError):
            run(["ip", "netns", "del", ns])


def delete_link(name: str) -> None:
    if link_exists(name):
        with contextlib.suppress(CommandError):
            run(["ip", "link", "del", name])
