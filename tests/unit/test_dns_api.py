"""The dns-agent's API answers bad input in the one problem format, naming every field (no
daemon needed: these requests are refused before anything reaches named)."""

from __future__ import annotations

import asyncio
import ipaddress
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.common.paths import StateRoot
from services.common.problems import AGENT_MAX_BODY
from services.common.settings import ApplianceSettings
from services.dns.__main__ import build
from tests.harness.problems import assert_problem


class Client:
    """Requests to the ASGI application in memory (httpx's ASGI transport)."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    def request(
        self, method: str, path: str, body: Any = None, content: bytes | None = None
    ) -> httpx.Response:
        async def call() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://agent") as http:
                if content is not None:
                    return await http.request(method, path, content=content)
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


def _fields(problem: dict[str, Any]) -> list[str]:
    return [item["field"] for item in problem["problems"]]


def test_bad_change_set_names_every_field(client: Client) -> None:
    body = {
        "changes": [
            {"action": "create", "record": {"name": "a", "type": "A", "data": 7}},
            {"action": "create", "record": {"name": "b", "type": "A", "data": "x", "ttl": "60"}},
            {"action": "update", "record": {"name": "c", "type": "A", "data": "x"}},
        ]
    }
    response = client.post("/zones/example.test/changes", json=body)
    problem = assert_problem(response, 422)
    assert _fields(problem) == [
        "changes[0].record.data",
        "changes[1].record.ttl",
        "changes[2].new",
    ]
    assert problem["problems"][1]["message"] == "must be a whole number"
    assert problem["detail"].startswith("changes[0].record.data")


def test_unknown_zone_is_404_problem(client: Client) -> None:
    problem = assert_problem(client.get("/zones/nowhere.test"), 404, "zone")
    assert "nowhere.test." in problem["detail"]


def test_bad_zone_and_options_name_their_fields(client: Client) -> None:
    problem = assert_problem(client.post("/zones", json={"name": "x.test", "kind": "forward"}), 422)
    assert _fields(problem) == ["forwarders"]
    assert "forwarder" in problem["problems"][0]["message"]
    both = client.post("/zones", json={"name": "x.test", "primaries": ["198.51.100.9"],
                                       "forwarders": ["198.51.100.9"]})  # fmt: skip
    assert _fields(assert_problem(both, 422)) == ["primaries", "forwarders"]
    assert_problem(client.put("/options", json={"listen_on": ["::1"]}), 422, "listen_on[0]")
    incoherent = client.put("/options", json={"allow_recursion": ["any"], "forward_only": True})
    assert _fields(assert_problem(incoherent, 422)) == ["allow_recursion", "forward_only"]


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/options", {"recursion": "yes"}, "recursion"),
        ("/options", {"forward_only": 1}, "forward_only"),
        ("/zones", {"name": "x.test", "ttl": "60"}, "ttl"),
        ("/zones", {"name": "x.test", "enabled": "true"}, "enabled"),
        ("/zones", {"name": "x.test", "soa": {"refresh": "3600"}}, "soa.refresh"),
        ("/zones", {"name": 5}, "name"),
        ("/zones", {"name": "x.test", "colour": "blue"}, "colour"),
        ("/zones/import", {"name": "x.test", "text": 5}, "text"),
    ],
)
def test_no_value_is_coerced(client: Client, path: str, body: Any, field: str) -> None:
    method = "PUT" if path == "/options" else "POST"
    problem = assert_problem(client.request(method, path, body), 422, field)
    assert "urn:burrow:problem:validation-error" == problem["type"]


def test_a_body_over_the_limit_is_413(client: Client) -> None:
    response = client.request("POST", "/zones/import", content=b"x" * (AGENT_MAX_BODY + 1))
    assert_problem(response, 413)
