"""Helpers of the backup tests: AXFR of a sandbox's zone, a client of the 4604 receiver."""

from __future__ import annotations

import http.client
import json
import re
import socket
import ssl
from typing import Any

import dns.name
import dns.query
import dns.tsig
import dns.xfr
import dns.zone
import httpx

from services.sandbox.sandbox import Sandbox
from tests.harness.netns import call_in


def tsig_key(box: Sandbox) -> dns.tsig.Key:
    text = box.root.tsig_key.read_text()
    secret = re.search(r'secret\s+"([^"]+)"', text)
    algorithm = re.search(r"algorithm\s+([A-Za-z0-9-]+)", text)
    name = re.search(r'key\s+"?([^"\s{]+)"?', text)
    assert secret and algorithm and name
    return dns.tsig.Key(name.group(1), secret.group(1), algorithm.group(1))


def axfr(box: Sandbox, zone: str, key: dns.tsig.Key | None = None) -> list[str]:
    """Every record of ``zone`` as sorted text lines, by a TSIG-signed AXFR.

    With ``key`` (a client key the zone grants transfers to) from this machine to the
    appliance's address; without, as the dns-agent reads it: the appliance's own key over the
    appliance's loopback (named takes that key from 127.0.0.1 only)."""
    holder = dns.zone.Zone(dns.name.from_text(zone), relativize=False)
    query, _ = dns.xfr.make_query(holder)
    if key is not None:
        query.use_tsig(key)
        dns.query.inbound_xfr(box.address, holder, query=query, timeout=30, lifetime=60)
    else:
        query.use_tsig(tsig_key(box))
        call_in(box.ns, lambda: dns.query.inbound_xfr("127.0.0.1", holder, query=query,
                                                      timeout=30, lifetime=60))  # fmt: skip
    return sorted(
        f"{name} {ttl} {rdata.rdtype.name} {rdata.to_text()}"
        for name, ttl, rdata in holder.iterate_rdatas()
    )


def receiver(box: Sandbox, method: str, path: str, **kw: Any) -> httpx.Response:
    """A request to the 4604 receiver, trusting any certificate (it is checked by pin)."""
    return httpx.request(
        method, f"https://{box.address}:4604{path}", verify=no_verify(), timeout=60, **kw
    )


def no_verify() -> ssl.SSLContext:
    """A client context that trusts any server certificate (the receiver is checked by pin)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def declared(
    address: str, port: int, path: str, context: ssl.SSLContext, length: int, method: str = "PUT"
) -> tuple[int, str, Any]:
    """Send only the head of a request that says its body has ``length`` bytes; the answer's
    status, content type and decoded JSON (a 413 is answered before the body is read)."""
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: {address}:{port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
    )
    with socket.create_connection((address, port), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname=address) as tls:
            tls.sendall(head.encode())
            response = http.client.HTTPResponse(tls)  # type: ignore[arg-type,unused-ignore]
            response.begin()
            return (
                response.status,
                response.getheader("content-type") or "",
                json.loads(response.read()),
            )


def kea_config(box: Sandbox, service: str = "dhcp4") -> dict[str, Any]:
    """Kea's running configuration without the hash that changes with nothing else."""
    answer = box.kea("config-get", service)
    assert answer["result"] == 0, answer
    config = dict(answer["arguments"])
    config.pop("hash", None)
    return config
