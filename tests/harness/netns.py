"""Running a function inside a sandbox's network namespace: the path of a program on the
appliance itself (its 127.0.0.1 is the appliance's own loopback).

``setns(CLONE_NEWNET)`` moves only the calling thread, so the function runs in a thread of its
own, and every socket it opens belongs to the namespace.
"""

from __future__ import annotations

import ctypes
import ipaddress
import os
import threading
from collections.abc import Callable
from typing import TypeVar

from services.common.proc import run
from services.sandbox import netns

T = TypeVar("T")

CLONE_NEWNET = 0x40000000


def call_in(ns: str, function: Callable[[], T]) -> T:
    """``function()`` run in network namespace ``ns`` (``/run/netns/NS``); its result or error."""
    result: dict[str, object] = {}

    def work() -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        target = os.open(f"/run/netns/{ns}", os.O_RDONLY)
        try:
            if libc.setns(target, CLONE_NEWNET) != 0:
                result["error"] = OSError(ctypes.get_errno(), f"setns into {ns}")
                return
        finally:
            os.close(target)
        # The thread ends here and takes the namespace with it: nothing else runs in it.
        try:
            result["value"] = function()
        except BaseException as exc:
            result["error"] = exc

    thread = threading.Thread(target=work, name=f"in-{ns}")
    thread.start()
    thread.join()
    if "error" in result:
        error = result["error"]
        assert isinstance(error, BaseException)
        raise error
    return result["value"]  # type: ignore[return-value]


def plug(
    hub: str, ns: str, port: str, address: ipaddress.IPv4Address, network: ipaddress.IPv4Network
) -> None:
    """Make namespace ``ns`` with an ``eth0`` at ``address`` on ``network``, joined by a veth
    (``port`` on the hub's side) to the bridge ``br0`` of namespace ``hub``."""
    netns.add(ns)
    run(["ip", "-n", hub, "link", "add", port, "type", "veth", "peer", "name", "eth0",
         "netns", ns])  # fmt: skip
    run(["ip", "-n", hub, "link", "set", port, "master", "br0", "up"])
    run(["ip", "-n", ns, "addr", "add", f"{address}/{network.prefixlen}", "dev", "eth0"])
    run(["ip", "-n", ns, "link", "set", "eth0", "up"])
