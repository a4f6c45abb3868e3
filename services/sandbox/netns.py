"""Network namespaces and veth links for sandboxes and test clients (iproute2)."""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import signal
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
