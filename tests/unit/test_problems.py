"""The one problem format (services.common.problems), strict request models
(services.common.model) and the agent client's mapping (services.common.agent_client), in
process: a small FastAPI application driven through httpx's ASGI transport."""

from __future__ import annotations

import asyncio
import errno
import ipaddress
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI
from pydantic import Field

from services.common import problems
from services.common.agent_client import (
    AgentClient,
    AnswerLostError,
    ConnectFailedError,
    OutcomeUnknownError,
    plain_reason,
    settle,
)
from services.common.errors import (
    ConflictError,
    DaemonError,
    FieldProblem,
    NotFoundError,
    UnavailableError,
    ValidationError,
)
from services.common.model import Input
from tests.harness.problems import check_problem


class Pool(Input):
    start: ipaddress.IPv4Address
    end: ipaddress.IPv4Address


class Scope(Input):
    subnet: ipaddress.IPv4Network
    valid_lifetime: int | None = Field(default=None, ge=1)
    always_send: bool = False
    name: str = ""
    pools: list[Pool] = []
    tags: list[int] = []


def make_app() -> FastAPI:
    app = FastAPI()
    problems.install(app, service="test program", max_body=2048, limits={"/big": 8192})

    @app.post("/scopes")
    def create(scope: Scope) -> Scope:
        return scope

    @app.post("/big")
    def big(scope: Scope) -> Scope:
        return scope

    @app.get("/missing")
    def missing() -> None:
        raise NotFoundError("No such scope.", field="scope_id")

    @app.get("/many")
    def many() -> None:
        raise ValidationError(
            "records[0].data: bad (and 1 more)",
            problems=[FieldProblem("records[0].data", "bad", {"line": 3}),
                      FieldProblem("records[4].ttl", "too large", {"line": 7})],
        )  # fmt: skip

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("internal detail that must not leak")

    return app


def call(method: str, path: str, **kw: Any) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=make_app(), raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.request(method, path, **kw)

    return asyncio.run(go())


def check(response: httpx.Response, status: int, field: str | None = None) -> dict[str, Any]:
    return check_problem(
        response.status_code, response.headers.get("content-type", ""), response.json(), status,
        field,
    )  # fmt: skip


def test_strict_input_refuses_coercion_and_names_every_field() -> None:
    body = {"subnet": "198.51.100.0/27", "valid_lifetime": "4000", "always_send": "yes",
            "name": 5, "tags": ["1"], "pools": [{"start": "198.51.100.10", "end": 7}]}  # fmt: skip
    answer = check(call("POST", "/scopes", json=body), 422)
    fields = [p["field"] for p in answer["problems"]]
    assert fields == ["valid_lifetime", "always_send", "name", "pools[0].end", "tags[0]"]
    messages = {p["field"]: p["message"] for p in answer["problems"]}
    assert messages["valid_lifetime"] == "must be a whole number"
    assert messages["always_send"] == "must be true or false"
    assert answer["detail"].startswith("valid_lifetime: must be a whole number (and 4 more)")
    # Real JSON types pass, and addresses, networks come as text as JSON has no type for them.
    good = {"subnet": "198.51.100.0/27", "valid_lifetime": 4000, "always_send": True,
            "tags": [1], "pools": [{"start": "198.51.100.10", "end": "198.51.100.20"}]}  # fmt: skip
    assert call("POST", "/scopes", json=good).status_code == 200


def test_unknown_and_missing_fields_in_plain_words() -> None:
    answer = check(call("POST", "/scopes", json={"colour": "red"}), 422)
    assert {p["field"]: p["message"] for p in answer["problems"]} == {
        "subnet": "is required",
        "colour": "is not a known field",
    }
    answer = check(call("POST", "/scopes", content=b"{not json",
                        headers={"Content-Type": "application/json"}), 422)  # fmt: skip
    assert answer["problems"]


def test_errors_of_every_kind_in_one_schema() -> None:
    check(call("GET", "/missing"), 404, "scope_id")
    answer = check(call("GET", "/many"), 422, "records[4].ttl")
    assert [p.get("line") for p in answer["problems"]] == [3, 7]
    answer = check(call("GET", "/nowhere"), 404)
    answer = check(call("PUT", "/missing"), 405)
    answer = check(call("GET", "/boom"), 500)
    assert "internal detail" not in answer["detail"]


def test_bodies_over_the_limit_are_refused_before_parsing() -> None:
    padding = "x" * 4000
    body = {"subnet": "198.51.100.0/27", "name": padding}
    answer = check(call("POST", "/scopes", json=body), 413)
    assert "2048 bytes" in answer["detail"]
    assert call("POST", "/big", json=body).status_code == 200  # a larger limit for that path

    # Without a Content-Length (chunked), the body is counted as it arrives.
    async def chunks() -> Any:
        for _ in range(5):
            yield b"x" * 1000

    check(call("POST", "/scopes", content=chunks(),
               headers={"Content-Type": "application/json"}), 413)  # fmt: skip


def test_field_paths_leave_out_validator_tags() -> None:
    loc = ("body", "scopes", 2, "function-after[check(), IPv4Network]", "pools", 0, "start")
    assert problems.field_path(loc) == "scopes[2].pools[0].start"
    assert problems.field_path(("body", "lax-or-strict[...]", "ttl")) == "ttl"
    assert problems.field_path(("body",)) == "body"


class FakeTransport:
    def __init__(self, answers: list[Any]) -> None:
        self.answers = answers

    @property
    def where(self) -> str:
        return "198.51.100.2:1337"

    def request(self, method: str, path: str, body: bytes | None, *, content_type: str,
                timeout: float) -> tuple[int, bytes]:  # fmt: skip
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer  # type: ignore[no-any-return]


def test_agent_answers_map_the_same_way() -> None:
    agent_problem = orjson.dumps({
        "type": "urn:burrow:problem:conflict", "title": "Conflict", "status": 409,
        "detail": "taken",
        "problems": [{"field": "a", "message": "one"}, {"field": "b", "message": "two"}],
    })  # fmt: skip
    client = AgentClient(FakeTransport([(409, agent_problem)]))
    with pytest.raises(ConflictError) as conflict:
        client.call("POST", "/x", {})
    assert [p.field for p in conflict.value.problems] == ["a", "b"]
    client = AgentClient(FakeTransport([(500, b"oops")]))
    with pytest.raises(DaemonError, match=r"198\.51\.100\.2:1337"):
        client.call("GET", "/x")
    refused = ConnectFailedError(plain_reason(ConnectionRefusedError(errno.ECONNREFUSED, "x")))
    client = AgentClient(FakeTransport([refused]))
    with pytest.raises(UnavailableError) as down:
        client.call("GET", "/x")
    assert down.value.headers["Retry-After"] == "5"
    assert "Errno" not in str(down.value) and "refused" in str(down.value)
    client = AgentClient(FakeTransport([AnswerLostError("closed"), AnswerLostError("closed")]))
    with pytest.raises(UnavailableError):
        client.call("GET", "/x")  # a read whose answer was lost is simply unavailable
    with pytest.raises(OutcomeUnknownError):
        client.call("POST", "/x", {})  # a change whose answer was lost: unknown


def test_settle_answers_what_the_read_back_finds() -> None:
    def lost() -> str:
        raise OutcomeUnknownError("lost")

    assert settle(lambda: "done", lambda: "read", what="x") == "done"
    assert settle(lost, lambda: "read back", what="x") == "read back"

    def still_down() -> str:
        raise UnavailableError("down")

    with pytest.raises(OutcomeUnknownError):
        settle(lost, still_down, what="x")


def test_plain_reasons() -> None:
    assert "nothing listens" in plain_reason(ConnectionRefusedError(errno.ECONNREFUSED, "x"))
    assert plain_reason(TimeoutError()) == "no answer in time"
    assert "no route" in plain_reason(OSError(errno.EHOSTUNREACH, "No route to host"))
