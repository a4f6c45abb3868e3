"""Ping sweep: which addresses of a range answer an ICMP echo, at a bounded rate.

One raw ICMP socket (root, as Central runs) sends an echo request to every address of the
range, ``rate`` per second at most, and reads the replies as they come; after the last request
it waits ``timeout`` seconds for late ones. Every request of one sweep carries the same
identifier (random) and its own sequence number, so replies are matched to requests whatever
their order, and replies to other programs' pings are ignored. IPv4 only: an IPv6 range is
too large to sweep, its neighbours come from routers (``central.discovery.snmp``).
"""

from __future__ import annotations

import ipaddress
import os
import select
import socket
import struct
import time
from collections.abc import Iterable

#: The largest range a sweep takes (a /16).
MAX_ADDRESSES = 65_536


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def echo_request(identifier: int, sequence: int, payload: bytes = b"burrow-sweep") -> bytes:
    """An ICMP echo request (type 8, code 0) with its checksum."""
    header = struct.pack("!BBHHH", 8, 0, 0, identifier, sequence)
    checksum = _checksum(header + payload)
    return struct.pack("!BBHHH", 8, 0, checksum, identifier, sequence) + payload


def echo_reply(packet: bytes) -> tuple[int, int] | None:
    """(identifier, sequence) of an echo reply in a raw IPv4 packet, or None."""
    if len(packet) < 20:
        return None
    header_length = (packet[0] & 0x0F) * 4
    icmp = packet[header_length : header_length + 8]
    if len(icmp) < 8 or icmp[0] != 0 or icmp[1] != 0:
        return None
    _type, _code, _sum, identifier, sequence = struct.unpack("!BBHHH", icmp)
    return identifier, sequence


def hosts(network: ipaddress.IPv4Network) -> list[ipaddress.IPv4Address]:
    """The addresses a sweep of ``network`` pings (without network and broadcast addresses)."""
    if network.num_addresses > MAX_ADDRESSES:
        raise ValueError(f"{network} has more than {MAX_ADDRESSES} addresses")
    return list(network.hosts()) if network.prefixlen < 31 else list(network)


def sweep(
    addresses: Iterable[ipaddress.IPv4Address], *, rate: float = 200.0, timeout: float = 1.0
) -> dict[str, float]:
    """Each address that answered, with its round-trip time in seconds."""
    targets = list(addresses)
    if len(targets) > MAX_ADDRESSES:
        raise ValueError(f"more than {MAX_ADDRESSES} addresses")
    identifier = int.from_bytes(os.urandom(2), "big")
    sent: dict[int, tuple[str, float]] = {}
    answered: dict[str, float] = {}
    interval = 1.0 / rate
    with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP) as sock:
        sock.setblocking(False)

        def receive(until: float) -> None:
            while True:
                left = until - time.monotonic()
                if left <= 0:
                    return
                ready, _, _ = select.select([sock], [], [], left)
                if not ready:
                    return
                while True:
                    try:
                        packet, (source, _port) = sock.recvfrom(1500)
                    except BlockingIOError:
                        break
                    got = time.monotonic()
                    reply = echo_reply(packet)
                    if reply is None or reply[0] != identifier:
                        continue
                    request = sent.get(reply[1])
                    if request is not None and request[0] == source:
                        answered.setdefault(source, got - request[1])

        next_send = time.monotonic()
        for sequence, address in enumerate(targets):
            receive(next_send)
            sent[sequence & 0xFFFF] = (str(address), time.monotonic())
            try:
                sock.sendto(echo_request(identifier, sequence & 0xFFFF), (str(address), 0))
            except OSError:  # no route to it: it does not answer
                pass
            next_send += interval
        receive(time.monotonic() + timeout)
    return answered
