"""Fixtures of the DNS tests: an HTTPS client of the dns-agent, DNS queries to the sandbox."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import dns.message
import dns.name
import dns.query
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import httpx
import pytest

from services.sandbox.sandbox import Sandbox


class Agent:
    """The dns-agent of a sandbox over HTTPS, presenting Central's client certificate."""

    def __init__(self, box: Sandbox) -> None:
        self.box = box
        context = box.tls_context()
        self.http = httpx.Client(
            base_url=f"https://{box.address}:1337", verify=context, timeout=180
        )

    def close(self) -> None:
        self.http.close()

    def get(self, path: str) -> httpx.Response:
        return self.http.get(path)

    def post(self, path: str, body: Any = None) -> httpx.Response:
        return self.http.post(path, json=body)

    def ok(self, response: httpx.Response) -> Any:
        assert response.status_code < 300, response.text
        return response.json() if response.content else None

    def create_zone(self, name: str, **spec: Any) -> dict[str, Any]:
        return dict(self.ok(self.post("/zones", {"name": name, **spec})))

    def change(self, zone: str, changes: list[dict[str, Any]]) -> httpx.Response:
        return self.post(f"/zones/{zone}/changes", {"changes": changes})

    def records(self, zone: str) -> dict[str, Any]:
        return dict(self.ok(self.get(f"/zones/{zone}/records")))


def create(
    name: str, rtype: str, data: str, ttl: int | None = None, **extra: Any
) -> dict[str, Any]:
    record: dict[str, Any] = {"name": name, "type": rtype, "data": data}
    if ttl is not None:
        record["ttl"] = ttl
    return {"action": "create", "record": record, **extra}


def query(box: Sandbox, name: str, rtype: str) -> dns.message.Message:
    """A TCP query to the sandbox's named (TCP: long TXT records fit)."""
    message = dns.message.make_query(name, dns.rdatatype.from_text(rtype))
    return dns.query.tcp(message, box.address, timeout=5)


def answer_set(box: Sandbox, name: str, rtype: str) -> set[dns.rdata.Rdata]:
    response = query(box, name, rtype)
    wanted = dns.rdatatype.from_text(rtype)
    return {rd for rrset in response.answer if rrset.rdtype == wanted for rd in rrset}


def rdata(rtype: str, text: str, origin: str) -> dns.rdata.Rdata:
    if rtype == "TXT":  # a string past 255 octets is served as several (test data: no escapes)
        strings = re.findall(r'"([^"]*)"', text) or [text]
        chunks = [s[i : i + 255] for s in strings for i in range(0, max(len(s), 1), 255)]
        text = " ".join(f'"{c}"' for c in chunks)
    return dns.rdata.from_text(
        dns.rdataclass.IN, dns.rdatatype.from_text(rtype), text,
        origin=dns.name.from_text(origin), relativize=False,
    )  # fmt: skip


def record_set(records: list[dict[str, Any]], origin: str) -> set[tuple[str, int, str, Any]]:
    """Records as comparable tuples (name, ttl, type, parsed rdata)."""
    return {
        (
            dns.name.from_text(r["name"], origin=dns.name.from_text(origin)).to_text().lower(),
            int(r["ttl"]),
            r["type"],
            rdata(r["type"], r["data"], origin),
        )
        for r in records
    }


@pytest.fixture(scope="session")
def agent(shared_sandbox: Sandbox) -> Iterator[Agent]:
    client = Agent(shared_sandbox)
    try:
        yield client
    finally:
        client.close()
