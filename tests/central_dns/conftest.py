"""Fixtures of Central's DNS tests: Central's API inside a sandbox appliance."""

from __future__ import annotations

import itertools
from typing import Any

import dns.message
import dns.query
import dns.rdatatype
import httpx
import pytest

from services.sandbox.sandbox import Sandbox

_zones = itertools.count(1)


class CentralDns:
    """Central's DNS API of one sandbox, as its first administrator (or ``token``)."""

    def __init__(self, box: Sandbox, token: str | None = None) -> None:
        self.box = box
        self.token = token or box.central_token()
        servers = self.call("GET", "/api/v1/servers?filter=local:true kind:dns").json()
        self.server_id = int(servers["items"][0]["id"])

    def call(
        self, method: str, path: str, body: Any = None, token: str | None = None
    ) -> httpx.Response:
        return self.box.https(
            1231, path, timeout=120, method=method, token=token or self.token, json_body=body
        )

    def ok(self, response: httpx.Response) -> Any:
        assert response.status_code < 300, response.text
        return response.json() if response.content else None

    def new_zone_name(self) -> str:
        return f"z{next(_zones)}-central.test."

    def create_zone(self, name: str, **spec: Any) -> dict[str, Any]:
        body = {"server_id": self.server_id, "name": name, **spec}
        return dict(self.ok(self.call("POST", "/api/v1/dns/zones", body)))

    def change(self, zone_id: int, changes: list[dict[str, Any]], comment: str = "") -> Any:
        return self.call(
            "POST", f"/api/v1/dns/zones/{zone_id}/changes", {"changes": changes, "comment": comment}
        )

    def records(self, zone_id: int) -> list[dict[str, Any]]:
        answer = self.ok(self.call("GET", f"/api/v1/dns/zones/{zone_id}/records?limit=1000"))
        return list(answer["items"])

    def served(self, name: str, rtype: str) -> set[str]:
        """The data named answers for ``name``/``rtype`` (empty on NXDOMAIN or NODATA)."""
        query = dns.message.make_query(name, dns.rdatatype.from_text(rtype))
        answer = dns.query.udp(query, self.box.address, timeout=2)
        return {
            rd.to_text()
            for rrset in answer.answer
            for rd in rrset
            if rrset.rdtype == query.question[0].rdtype
        }

    def history(self, zone_id: int) -> list[dict[str, Any]]:
        path = f"/api/v1/history?filter=object_type:dns-zone object_id:{zone_id}&sort=-id"
        return list(self.ok(self.call("GET", path))["items"])


def create(name: str, rtype: str, data: str, ttl: int | None = None) -> dict[str, Any]:
    record: dict[str, Any] = {"name": name, "type": rtype, "data": data}
    if ttl is not None:
        record["ttl"] = ttl
    return {"action": "create", "record": record}


@pytest.fixture(scope="session")
def central_dns(shared_sandbox: Sandbox) -> CentralDns:
    return CentralDns(shared_sandbox)
