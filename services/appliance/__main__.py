"""Run the appliance-agent: ``python -m services.appliance --root ROOT``."""

from __future__ import annotations

import array
import fcntl
import socket
import struct
from typing import Any

from fastapi import FastAPI

from services.appliance import network
from services.appliance.backup.service import start_backups
from services.appliance.diag_shell import router as diag_shell_router
from services.common.agent import agent_app, run_agent
from services.common.paths import StateRoot
from services.common.settings import ApplianceSettings

PORT = 4603

#: ``ioctl`` request that lists the IPv4 addresses of every interface (linux/sockios.h).
SIOCGIFCONF = 0x8912
#: ``struct ifreq`` on 64-bit Linux: the name (16 bytes), then a sockaddr_in in a 24-byte union.
IFREQ_SIZE = 40


def ipv4_addresses(slots: int = 64) -> list[str]:
    """Every IPv4 address on this network namespace's interfaces.

    One ``SIOCGIFCONF`` ioctl rather than netlink: the status is read all day long, and
    pyroute2 costs this program some 20 MB for as long as it runs (the network endpoints,
    ``services.appliance.network``, load it only when they are used). ``slots``: how many
    addresses the first call makes room for; the list is asked again, larger, when it is full.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        while True:
            buf = array.array("B", bytes(IFREQ_SIZE * slots))
            request = struct.pack("iL", len(buf), buf.buffer_info()[0])
            used = struct.unpack("iL", fcntl.ioctl(sock.fileno(), SIOCGIFCONF, request))[0]
            if used < len(buf):  # the kernel had room for all: nothing was left out
                break
            slots *= 2
    data = buf.tobytes()
    return [socket.inet_ntoa(data[at + 20 : at + 24]) for at in range(0, used, IFREQ_SIZE)]


def network_status(root: StateRoot) -> dict[str, Any]:
    """The appliance's interface and whether it carries the configured address."""
    settings = ApplianceSettings.load(root.appliance_settings)
    addresses = ipv4_addresses()
    return {
        "status": "running",
        "hostname": settings.hostname,
        "address": str(settings.address),
        "address_present": settings.ip in addresses,
    }


def build(root: StateRoot) -> FastAPI:
    app = agent_app("appliance-agent", root, network_status)
    app.state.root = root
    app.include_router(diag_shell_router)
    app.include_router(start_backups(root))
    app.include_router(network.router)
    network.restore_persisted(root)  # extra addresses and routes come back after a reboot
    return app


if __name__ == "__main__":
    raise SystemExit(run_agent("appliance-agent", PORT, build))
