"""The dns-agent's API answers bad input with problem JSON naming the field (no daemon needed:
these requests are refused before anything reaches named)."""

from __future__ import annotations

import asyncio
import ipaddress
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.common.paths import StateRoot
from services.common.settings import ApplianceSettings
from services.dns.__main__ import build


class Client:
    """Requests to the ASGI application in memory (httpx's ASGI transport)."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    def request(self, method: str, path: str, body: Any = None) -> httpx.Response:
        async def call() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://agent") as http:
                return await http.request(method, path, json=body)

        return asyncio.run(call())

    def get(self, path: str) -> httpx.Response:
        return self.request("GET", path)

    def post(self, path: str, json: Any) -> httpx.Response:
        return self.request("POST", path, json)

    def put(self, path: str, json: Any) -> httpx.Response:
        return self.request("PUT", path, json)


@pytest.fixture
def client(tmp_path: Path) -> Client:
    root = StateRoot.at(tmp_path)
    ApplianceSettings(address=ipaddress.IPv4Interface("198.51.100.2/24")).save(
        root.appliance_settings
    )
    return Client(build(root))


def test_bad_change_set_names_the_field(client: Client) -> None:
    body = {
        "changes": [
            {"action": "create", "record": {"name": "a", "type": "A", "data": "x"}},
            {"action": "create", "record": {"name": "b", "type": "A", "data": "x", "ttl": "soon"}},
        ]
    }
    response = client.post("/zones/example.test/changes", json=body)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["field"] == "changes[1].record.ttl"
    assert problem["status"] == 422 and problem["code"] == "validation-error"


def test_unknown_zone_is_404_problem(client: Client) -> None:
    response = client.get("/zones/nowhere.test")
    assert response.status_code == 404
    assert response.json()["field"] == "zone"
    assert "nowhere.test." in response.json()["detail"]


def test_bad_zone_and_options(client: Client) -> None:
    response = client.post("/zones", json={"name": "x.test", "kind": "forward"})
    assert response.status_code == 422
    assert "forwarder" in response.json()["detail"]
    response = client.put("/options", json={"listen_on": ["::1"]})
    assert response.status_code == 422
    assert response.json()["field"] == "listen_on[0]"
