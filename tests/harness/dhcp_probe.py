"""A minimal DHCPv4 DISCOVER/OFFER probe, run inside a client namespace.

Used to measure how soon kea-dhcp4 answers again (the real-client checks use dhclient).
Protocol on stdin/stdout, so that a caller can start it ahead of time:

    python -m tests.harness.dhcp_probe --iface eth0 --mac 02:..
    <- "ready"          the socket is open
    -> "go"             start sending DISCOVERs every 20 ms
    <- JSON {"offer_time": <epoch seconds>, "yiaddr": "..."} or {"error": "..."}

Repeatable: after each answer it waits for the next "go". EOF on stdin ends it.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import socket
import struct
import sys
import time

MAGIC = b"\x63\x82\x53\x63"


def discover(mac: bytes, xid: int) -> bytes:
    header = struct.pack(
        "!BBBBIHH4s4s4s4s16s64s128s",
        1,
        1,
        6,
        0,
        xid,
        0,
        0x8000,  # BOOTREQUEST, ethernet, broadcast flag
        b"\0" * 4,
        b"\0" * 4,
        b"\0" * 4,
        b"\0" * 4,
        mac.ljust(16, b"\0"),
        b"\0" * 64,
        b"\0" * 128,
    )
    options = MAGIC + bytes([53, 1, 1]) + bytes([61, 7, 1]) + mac + b"\xff"
    return header + options


def parse_offer(packet: bytes, xid: int) -> str | None:
    if len(packet) < 240 or packet[0] != 2:
        return None
    if struct.unpack("!I", packet[4:8])[0] != xid or packet[236:240] != MAGIC:
        return None
    i = 240
    while i < len(packet) and packet[i] != 255:
        if packet[i] == 0:
            i += 1
            continue
        code, length = packet[i], packet[i + 1]
        if code == 53 and packet[i + 2] == 2:  # DHCPOFFER
            return socket.inet_ntoa(packet[16:20])
        i += 2 + length
    return None


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--iface", default="eth0")
    parser.add_argument("--mac", required=True)
    parser.add_argument("--deadline", type=float, default=20.0)
    args = parser.parse_args()
    mac = bytes.fromhex(args.mac.replace(":", ""))
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, args.iface.encode())
    sock.bind(("0.0.0.0", 68))
    print("ready", flush=True)
    for line in sys.stdin:
        if line.strip() != "go":
            continue
        while select.select([sock], [], [], 0)[0]:  # drop stale answers
            sock.recv(4096)
        start = time.monotonic()
        result: dict[str, object] = {"error": "no offer before the deadline"}
        while time.monotonic() - start < args.deadline:
            xid = int.from_bytes(os.urandom(4), "big")
            sock.sendto(discover(mac, xid), ("255.255.255.255", 67))
            until = time.monotonic() + 0.02
            while (left := until - time.monotonic()) > 0:
                if not select.select([sock], [], [], left)[0]:
                    break
                yiaddr = parse_offer(sock.recv(4096), xid)
                if yiaddr:
                    result = {"offer_time": time.time(), "yiaddr": yiaddr}
                    break
            if "yiaddr" in result:
                break
        print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
