"""Fixtures of Central's DHCP tests: one appliance for the package, Central's API as its admin.

Central calls the appliance's own dhcp-agent (registered and enrolled at Central's first
start) over pinned mutual TLS; the tests talk to Central only, and look at Kea itself
through the Control Agent (``box.kea``) to check what really happened.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from services.sandbox.sandbox import Sandbox
from tests.conftest import SandboxFactory, _need_root
from tests.harness.wait import wait_for


class CentralDhcp:
    """Central's DHCP API for one DHCP server, called with one user's token."""

    def __init__(self, box: Sandbox, token: str, server_id: int) -> None:
        self.box, self.token, self.server_id = box, token, server_id

    def call(self, method: str, path: str, body: Any = None, token: str | None = None,
             ) -> httpx.Response:  # fmt: skip
        return self.box.https(
            1231, path, method=method, token=token or self.token, json_body=body, timeout=60
        )

    def dhcp(self, method: str, path: str, body: Any = None, token: str | None = None,
             ) -> httpx.Response:  # fmt: skip
        return self.call(method, f"/api/v1/dhcp/servers/{self.server_id}{path}", body, token)

    def ok(self, response: httpx.Response) -> Any:
        assert response.status_code < 300, response.text
        return response.json()

    def history(self, **filters: str) -> list[dict[str, Any]]:
        terms = " ".join(f"{k}:{v}" for k, v in filters.items())
        answer = self.ok(self.call("GET", f"/api/v1/history?filter={terms}&limit=1000"))
        return list(answer["items"])

    def make_user(self, role: str) -> str:
        """A new user of ``role``; returns a session token of theirs."""
        name = f"u{secrets.token_hex(4)}"
        password = secrets.token_urlsafe(16)
        self.ok(self.call("POST", "/api/v1/users", {"username": name, "password": password,
                                                     "role": role}))  # fmt: skip
        login = {"username": name, "password": password}
        return str(self.ok(self.call("POST", "/api/v1/auth/login", login))["token"])


def kea_config(box: Sandbox, service: str = "dhcp4") -> dict[str, Any]:
    answer = box.kea("config-get", service)
    assert answer["result"] == 0, answer
    return dict(answer["arguments"])


@pytest.fixture(scope="package")
def cd_box() -> Iterator[Sandbox]:
    """One appliance for Central's DHCP tests."""
    _need_root()
    factory = SandboxFactory("c")
    try:
        yield factory.start()
    finally:
        factory.close()


@pytest.fixture(scope="package")
def central(cd_box: Sandbox) -> CentralDhcp:
    """Central as its administrator, for the appliance's DHCP server, without seed v4 scopes."""
    token = cd_box.central_token()
    probe = CentralDhcp(cd_box, token, 0)

    def enrolled() -> int | None:
        servers = probe.ok(probe.call("GET", "/api/v1/dhcp/servers"))["items"]
        local = [s for s in servers if s["local"] and s["state"] == "reachable"]
        return int(local[0]["id"]) if local else None

    server_id = wait_for(
        enrolled, timeout=60, interval=0.5, what="the local DHCP server enrolled at Central"
    )
    api = CentralDhcp(cd_box, token, server_id)
    for scope in api.ok(api.dhcp("GET", "/v4/scopes"))["items"]:
        api.ok(api.dhcp("DELETE", f"/v4/scopes/{scope['id']}"))
    return api
