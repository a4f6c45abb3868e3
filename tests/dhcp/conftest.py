"""Fixtures of the DHCP tests: one appliance for the package and a client of its dhcp-agent.

The agent is called over HTTPS on port 4151 with Central's client certificate, as Central
calls it (so the tests keep working once the agent requires mutual TLS).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from services.common.proc import run
from services.sandbox.sandbox import Client, Sandbox
from tests.conftest import SandboxFactory, _need_root


class Agent:
    """The dhcp-agent of a sandbox, seen from Central's side."""

    def __init__(self, box: Sandbox) -> None:
        context = box.tls_context()  # Central's client certificate
        self.http = httpx.Client(
            base_url=f"https://{box.address}:4151/dhcp", verify=context, timeout=30
        )

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.get(path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.post(path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.put(path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.patch(path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.delete(path, **kwargs)

    def ok(self, response: httpx.Response) -> Any:
        assert response.status_code < 300, response.text
        return response.json() if response.content else None

    @contextlib.contextmanager
    def scope(self, family: str, body: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """A scope made through the agent for the duration of a test."""
        created = self.ok(self.post(f"/{family}/scopes", json=body))["scope"]
        try:
            yield created
        finally:
            self.ok(self.delete(f"/{family}/scopes/{created['id']}"))

    def close(self) -> None:
        self.http.close()


@pytest.fixture(scope="package")
def dhcp_box() -> Iterator[Sandbox]:
    """One appliance for the DHCP tests, without the seed scopes (the tests make their own)."""
    _need_root()
    factory = SandboxFactory("d")
    try:
        box = factory.start()
        agent = Agent(box)
        try:
            for family in ("v4", "v6"):
                for scope in agent.ok(agent.get(f"/{family}/scopes")):
                    agent.ok(agent.delete(f"/{family}/scopes/{scope['id']}"))
        finally:
            agent.close()
        yield box
    finally:
        factory.close()


@pytest.fixture
def agent(dhcp_box: Sandbox) -> Iterator[Agent]:
    client = Agent(dhcp_box)
    try:
        yield client
    finally:
        client.close()


def wait_link_local(client: Client, timeout: float = 10.0) -> None:
    """DHCPv6 needs the client's link-local address past duplicate address detection."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = run(["ip", "-n", client.ns, "-6", "addr", "show", "dev", client.iface]).stdout
        if "fe80" in out and "tentative" not in out:
            return
        time.sleep(0.05)
    raise AssertionError(f"{client.ns}: no usable link-local address after {timeout} s")
