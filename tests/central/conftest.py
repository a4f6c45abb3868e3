"""Fixtures of Central's suite: a real Central process over HTTPS, on SQLite and on PostgreSQL.

Every test that takes ``central`` runs twice: once against a Central on SQLite (WAL) and once
against a Central on a PostgreSQL server that the suite starts itself (Debian's packages,
unix socket in a temporary folder) and stops at the end.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.harness.central import CentralProcess
from tests.harness.postgres import Postgres
from tests.harness.problems import assert_problem

_names = itertools.count(1)


@dataclass
class User:
    """A user made for a test, logged in."""

    id: int
    username: str
    password: str
    role: str
    token: str


class Api:
    """A running Central and its first administrator's session."""

    def __init__(self, process: CentralProcess, backend: str) -> None:
        self.process = process
        self.backend = backend
        username, password = process.admin_password()
        self.admin_name = username
        self.admin = process.login(username, password)

    def call(self, method: str, path: str, token: str | None = None, **kw: Any) -> httpx.Response:
        return self.process.request(method, path, token, **kw)

    def get(self, path: str, token: str | None = None, **kw: Any) -> httpx.Response:
        return self.call("GET", path, token if token is not None else self.admin, **kw)

    def post(self, path: str, body: Any, token: str | None = None) -> httpx.Response:
        return self.call("POST", path, token if token is not None else self.admin, json=body)

    def patch(self, path: str, body: Any, token: str | None = None) -> httpx.Response:
        return self.call("PATCH", path, token if token is not None else self.admin, json=body)

    def delete(self, path: str, token: str | None = None) -> httpx.Response:
        return self.call("DELETE", path, token if token is not None else self.admin)

    def history_total(self) -> int:
        response = self.get("/api/v1/history?limit=1")
        assert response.status_code == 200, response.text
        return int(response.json()["total"])

    def latest_change(self) -> dict[str, Any]:
        response = self.get("/api/v1/history?limit=1")
        return dict(response.json()["items"][0])

    def make_user(self, role: str = "read-only", **extra: Any) -> User:
        name = f"{role.split('-')[0]}{next(_names)}-{self.backend[:2]}"
        password = f"pw-{name}-long-enough"
        response = self.post(
            "/api/v1/users", {"username": name, "role": role, "password": password, **extra}
        )
        assert response.status_code == 201, response.text
        token = self.process.login(name, password)
        return User(response.json()["id"], name, password, role, token)


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    server = Postgres().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def central(request: pytest.FixtureRequest) -> Iterator[Api]:
    url = None
    if request.param == "postgresql":
        server: Postgres = request.getfixturevalue("postgres")
        url = server.create_database(f"central{next(_names)}")
    process = CentralProcess(database_url=url)
    try:
        process.start()
        yield Api(process, request.param)
    finally:
        process.stop()


__all__ = ["assert_problem"]
