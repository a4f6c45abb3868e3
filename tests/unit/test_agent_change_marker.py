"""The dns-agent's and the dhcp-agent's backup trigger: a write they answer with success
touches ``daemons-changed``; a read, a refused write, a preview, a cache flush and an agent
without the marker do not (services/common/agent.py ``ChangeMarker``)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import httpx
from fastapi import FastAPI

from services.common.agent import agent_app
from services.common.backup.files import daemons_changed_file
from services.common.errors import ValidationError
from services.common.paths import StateRoot


def _app(root: StateRoot, marks: bool) -> FastAPI:
    app = agent_app("dns-agent", root, marks_changes=marks)

    @app.post("/zones/{zone}/changes")
    def change(zone: str) -> dict[str, str]:
        return {"zone": zone}

    @app.post("/zones/import/preview")
    def preview() -> dict[str, str]:
        return {}

    @app.delete("/zones/{zone}", status_code=204)
    def delete(zone: str) -> None:
        if zone == "refused":
            raise ValidationError("no such zone", field="zone")

    @app.post("/caching/flush")
    def flush() -> dict[str, str]:
        return {}

    @app.get("/zones")
    def zones() -> list[str]:
        return []

    return app


class Client:
    """Requests to the app in this process (httpx's ASGI transport)."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    def _call(self, method: str, path: str) -> httpx.Response:
        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app, raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                return await client.request(method, path)

        return asyncio.run(go())

    def get(self, path: str) -> httpx.Response:
        return self._call("GET", path)

    def post(self, path: str) -> httpx.Response:
        return self._call("POST", path)

    def delete(self, path: str) -> httpx.Response:
        return self._call("DELETE", path)


def _stamp(root: StateRoot) -> int | None:
    path = daemons_changed_file(root)
    return path.stat().st_mtime_ns if path.exists() else None


def test_only_a_successful_write_touches_the_trigger(tmp_path: Path) -> None:
    root = StateRoot(tmp_path)
    client = Client(_app(root, marks=True))
    assert client.get("/zones").status_code == 200
    assert client.post("/zones/import/preview").status_code == 200
    assert client.post("/caching/flush").status_code == 200  # the cache is not the settings
    assert client.delete("/zones/refused").status_code == 422
    assert _stamp(root) is None

    assert client.post("/zones/a.test/changes").status_code == 200
    first = _stamp(root)
    assert first is not None
    os.utime(daemons_changed_file(root), ns=(first - 10**9, first - 10**9))
    assert client.delete("/zones/b.test").status_code == 204
    second = _stamp(root)
    assert second is not None and second > first - 10**9


def test_an_agent_without_the_marker_leaves_no_trigger(tmp_path: Path) -> None:
    root = StateRoot(tmp_path)
    client = Client(_app(root, marks=False))
    assert client.post("/zones/a.test/changes").status_code == 200
    assert _stamp(root) is None
