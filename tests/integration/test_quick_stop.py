"""A program serving HTTPS stops at once, though a client keeps an idle connection open.

Clients keep connections in a pool (Central keeps its connections to the agents, browsers
theirs to the console). uvicorn closed such a connection on stopping and waited until it was
gone, which over TLS means until the client answers the close, which a pooled connection does
not do: every stop of an agent or of the console waited seconds for its graceful-shutdown
limit. It now drops idle connections; a request in progress still finishes.
"""

from __future__ import annotations

import time

import httpx
import pytest

from services.sandbox.sandbox import Sandbox
from tests.harness.wait import wait_for

pytestmark = pytest.mark.sandbox


def test_the_console_stops_at_once_with_an_idle_connection_open(shared_sandbox: Sandbox) -> None:
    box = shared_sandbox
    supervisor = box.supervisor()
    with httpx.Client(verify=box.tls_context(), timeout=5) as client:
        assert client.get(f"https://{box.address}:443/health").status_code == 200
        began = time.monotonic()
        supervisor.call("supervisor.stopProcess", "webui", False)  # do not wait for it
        try:
            wait_for(
                lambda: supervisor.process("webui")["statename"] == "STOPPED",
                timeout=30, what="the console to stop",
            )  # fmt: skip
            took = time.monotonic() - began
        finally:
            wait_for(
                lambda: supervisor.process("webui")["statename"] in ("STOPPED", "EXITED"),
                timeout=30, what="the console to be stopped",
            )  # fmt: skip
            supervisor.call("supervisor.startProcess", "webui", True)
            wait_for(
                lambda: box.https(443, "/health", timeout=1).status_code == 200,
                timeout=60, what="the console to answer again",
            )  # fmt: skip
    assert took < 1.5, f"the console took {took:.1f} s to stop: it waited for the idle connection"
