"""Central's contract: every kind of error answers in the one problem format.

Each test provokes one kind of error from a real Central (on SQLite and on PostgreSQL) and
checks the answer with ``assert_problem``, which refuses any member outside the one schema of
``services.common.problems``: validation (every wrong field, in order), not found, conflict,
too large (a setting: ``max_request_bytes`` in ``central.json`` or
``BURROW_MAX_REQUEST_BYTES``), unauthenticated, forbidden, method not allowed and malformed
JSON. A structural test checks that every request body of every route is a strict ``Input``.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any, get_args, get_origin

import httpx
import pytest
from fastapi.routing import APIRoute
from pydantic import BaseModel

from central.app import create_app
from central.core.config import MAX_REQUEST_BYTES_ENV, CentralConfig
from services.common.errors import SetupError
from services.common.model import Input
from services.common.paths import StateRoot
from services.common.problems import DEFAULT_MAX_BODY
from tests.central.conftest import Api, assert_problem
from tests.harness.central import CentralProcess, new_root


def _fields(problem: dict[str, Any]) -> list[str]:
    return [item["field"] for item in problem["problems"]]


# --- validation ------------------------------------------------------------------------------
def test_validation_reports_every_wrong_field_in_order(central: Api) -> None:
    history = central.history_total()
    body = {"username": 42, "role": "root", "password": "short", "enabled": "yes", "x": 1}
    problem = assert_problem(central.post("/api/v1/users", body), 422)
    assert problem["type"] == "urn:burrow:problem:validation-error"
    assert _fields(problem) == ["username", "role", "password", "enabled", "x"], problem
    messages = [item["message"] for item in problem["problems"]]
    assert messages[0] == "must be text"
    assert messages[3] == "must be true or false"
    assert messages[4] == "is not a known field"
    for message in messages:
        assert "should" not in message and "lax-or-strict" not in message, message
    assert problem["detail"] == "username: must be text (and 4 more)"
    assert central.history_total() == history


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("POST", "/api/v1/auth/login", {"username": "a", "password": "b", "expires_in": "60"},
         "expires_in"),
        ("POST", "/api/v1/api-tokens", {"name": "n", "expires_in_days": "30"}, "expires_in_days"),
        ("POST", "/api/v1/api-tokens", {"name": 7}, "name"),
        ("PATCH", "/api/v1/settings", {"backup_auto_approve": "yes"}, "backup_auto_approve"),
        ("PATCH", "/api/v1/settings", {"backup_auto_approve": 1}, "backup_auto_approve"),
        ("PATCH", "/api/v1/settings", {"login_max_failures": 5.0}, "login_max_failures"),
        ("POST", "/api/v1/backup-peers/pairing-tokens", {"address": "198.51.100.9",
                                                          "comment": 5}, "comment"),
        ("POST", "/api/v1/replacements/1/approve", {"fingerprint": "x", "snapshot_id": "1"},
         "snapshot_id"),
        ("POST", "/api/v1/me/password", {"current_password": "x", "new_password": ["a"]},
         "new_password"),
    ],
)  # fmt: skip
def test_nothing_is_coerced(central: Api, method: str, path: str, body: Any, field: str) -> None:
    history = central.history_total()
    token = None if path == "/api/v1/auth/login" else central.admin
    assert_problem(central.call(method, path, token, json=body), 422, field)
    assert central.history_total() == history


def test_malformed_json_names_the_body(central: Api) -> None:
    for content in (b"{not json", b'{"username": "a",}', b"\xff\xfe"):
        response = central.call(
            "POST", "/api/v1/users", central.admin, content=content,
            headers={"Content-Type": "application/json"},
        )  # fmt: skip
        problem = assert_problem(response, 422, "body")
        assert "not valid JSON" in problem["problems"][0]["message"], problem
    listed = central.call("POST", "/api/v1/users", central.admin, json=[1, 2])
    assert assert_problem(listed, 422, "body")["problems"][0]["message"] == "must be an object"


# --- not found, conflict, method ----------------------------------------------------------
def test_not_found(central: Api) -> None:
    problem = assert_problem(central.get("/api/v1/users/987654"), 404, "user_id")
    assert problem["type"] == "urn:burrow:problem:not-found"
    assert_problem(central.get("/api/v1/backup-peers/987654"), 404, "peer_id")
    assert_problem(central.get("/api/v1/no-such-thing"), 404)
    assert_problem(central.call("GET", "/api/v1/no-such-thing"), 404)


def test_conflict(central: Api) -> None:
    user = central.make_user()
    history = central.history_total()
    body = {"username": user.username, "role": "read-only", "password": "long-enough-pw"}
    problem = assert_problem(central.post("/api/v1/users", body), 409, "username")
    assert problem["type"] == "urn:burrow:problem:conflict"
    assert user.username in problem["detail"]
    assert central.history_total() == history


def test_method_not_allowed(central: Api) -> None:
    response = central.call("PUT", "/api/v1/health")
    problem = assert_problem(response, 405)
    assert problem["type"] == "urn:burrow:problem:method-not-allowed"
    assert response.headers["allow"] == "GET"
    response = central.delete("/api/v1/settings")
    assert_problem(response, 405)
    assert set(response.headers["allow"].split(", ")) == {"GET", "PATCH"}


# --- who may ---------------------------------------------------------------------------------
def test_unauthenticated_answers_name_the_scheme(central: Api) -> None:
    for token in (None, "bws_not-a-real-token"):
        response = central.call("GET", "/api/v1/users", token)
        problem = assert_problem(response, 401)
        assert problem["type"] == "urn:burrow:problem:not-authenticated"
        assert response.headers["www-authenticate"] == "Bearer"
    # A body is not looked at before the caller is known.
    response = central.call("POST", "/api/v1/users", None, json={"nonsense": True})
    assert_problem(response, 401)
    # A wrong password at the login, a wrong pairing token: 401 with the scheme as well.
    response = central.call(
        "POST", "/api/v1/auth/login", json={"username": central.admin_name, "password": "no"}
    )
    assert_problem(response, 401, "password")
    assert response.headers["www-authenticate"] == "Bearer"
    pairing = {"token": "bwpair_x", "appliance_id": "a", "address": "127.0.0.1",
               "agent_certificate": "x"}  # fmt: skip
    response = central.call("POST", "/api/v1/backup-peers/pair", json=pairing)
    assert_problem(response, 401, "token")
    assert response.headers["www-authenticate"] == "Pairing"
    # The backup store takes a peer's credential, never a user's token.
    response = central.call("GET", "/api/v1/backup-store/1/snapshots", central.admin)
    assert_problem(response, 401)
    assert response.headers["www-authenticate"] == "Backup"


def test_forbidden_for_a_read_only_user(central: Api) -> None:
    reader = central.make_user("read-only")
    history = central.history_total()
    for method, path, body in [
        ("POST", "/api/v1/users", {"username": "x", "role": "read-only", "password": "p" * 12}),
        ("POST", "/api/v1/users", {"wrong": "body"}),  # the role is checked first
        ("PATCH", "/api/v1/settings", {"sync_interval_seconds": 60}),
        ("POST", "/api/v1/api-tokens", {"name": "mine"}),
        ("POST", "/api/v1/backup-peers/pairing-tokens", {"address": "198.51.100.9"}),
    ]:
        response = central.call(method, path, reader.token, json=body)
        problem = assert_problem(response, 403)
        assert problem["type"] == "urn:burrow:problem:forbidden"
        assert "read-only" in problem["detail"], problem
    assert central.history_total() == history
    assert central.get("/api/v1/users", reader.token).status_code == 200


# --- too large -------------------------------------------------------------------------------
def _parts(size: int, part: int = 64 * 1024) -> Iterator[bytes]:
    while size > 0:
        yield b" " * min(part, size)
        size -= part


def test_a_body_over_the_limit_is_refused_before_it_is_parsed(central: Api) -> None:
    history = central.history_total()
    limit = DEFAULT_MAX_BODY
    # Declared: refused on the Content-Length alone.
    declared = central.call(
        "POST", "/api/v1/users", central.admin, content=b" " * (limit + 1),
        headers={"Content-Type": "application/json"},
    )  # fmt: skip
    problem = assert_problem(declared, 413)
    assert problem["type"] == "urn:burrow:problem:too-large"
    assert str(limit) in problem["detail"] and "max_request_bytes" in problem["hint"]
    # Streamed without a length: refused when the count passes the limit.
    streamed = central.call(
        "POST", "/api/v1/users", central.admin, content=_parts(limit + 1),
        headers={"Content-Type": "application/json"},
    )  # fmt: skip
    assert_problem(streamed, 413)
    # At the limit it is read and parsed (blank JSON: malformed, not too large).
    assert_problem(
        central.call("POST", "/api/v1/users", central.admin, content=b" " * 1024,
                     headers={"Content-Type": "application/json"}),
        422, "body",
    )  # fmt: skip
    assert central.history_total() == history


def _limited_central(monkeypatch: pytest.MonkeyPatch, *, env: int | None,
                     file: int | None) -> CentralProcess:  # fmt: skip
    process = CentralProcess()
    if file is not None:
        (process.root.etc / "central.json").write_text(json.dumps({"max_request_bytes": file}))
    if env is not None:
        monkeypatch.setenv(MAX_REQUEST_BYTES_ENV, str(env))
    else:
        monkeypatch.delenv(MAX_REQUEST_BYTES_ENV, raising=False)
    return process


def _post(process: CentralProcess, token: str, size: int) -> httpx.Response:
    body = json.dumps({"username": "x" * size}).encode()
    return process.request(
        "POST", "/api/v1/users", token, content=body, headers={"Content-Type": "application/json"}
    )


@pytest.mark.parametrize(
    ("env", "file", "limit"), [(None, 4096, 4096), (2048, None, 2048), (2048, 4096, 2048)]
)
def test_the_limit_is_a_setting(
    monkeypatch: pytest.MonkeyPatch, env: int | None, file: int | None, limit: int
) -> None:
    process = _limited_central(monkeypatch, env=env, file=file)
    try:
        process.start()
        token = process.login(*process.admin_password())
        problem = assert_problem(_post(process, token, limit), 413)
        assert f"larger than {limit} bytes" in problem["detail"]
        assert_problem(_post(process, token, limit - 100), 422, "username")
    finally:
        process.stop()


@pytest.mark.parametrize("value", ["lots", "100", 100, -5, 10.5])
def test_a_wrong_limit_is_a_setup_error(value: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MAX_REQUEST_BYTES_ENV, raising=False)
    root = new_root("bw-limit-")
    try:
        (root.etc / "central.json").write_text(json.dumps({"max_request_bytes": value}))
        with pytest.raises(SetupError, match="max_request_bytes"):
            CentralConfig.from_root(root)
        (root.etc / "central.json").write_text("{}")
        monkeypatch.setenv(MAX_REQUEST_BYTES_ENV, str(value))
        with pytest.raises(SetupError, match="max_request_bytes"):
            CentralConfig.from_root(root)
    finally:
        shutil.rmtree(root.root, ignore_errors=True)


# --- every request body is strict --------------------------------------------------------------
def _models(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models in ``annotation`` (through unions, lists, Annotated, ...)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    origin = get_origin(annotation)
    if origin is None:
        return []
    found: list[type[BaseModel]] = []
    for arg in get_args(annotation):
        found += _models(arg)
    return found


def _offences(annotation: Any, where: str, seen: set[type[BaseModel]]) -> list[str]:
    """Why ``annotation`` (a body, or a field of one) is not strict ``Input`` all the way."""
    models = _models(annotation)
    if not models:
        return []
    out = []
    for model in models:
        if model in seen:
            continue
        seen.add(model)
        if not issubclass(model, Input):
            out.append(f"{where}: {model.__module__}.{model.__qualname__} is not an Input")
        for name, field in model.model_fields.items():
            out += _offences(field.annotation, f"{where}.{name}", seen)
    return out


def _api_routes(routes: Any) -> Iterator[APIRoute]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        # FastAPI keeps an included router as one route of its own.
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from _api_routes(inner.routes)


def _body_params(route: APIRoute) -> list[Any]:
    params, stack = [], [route.dependant]
    while stack:
        dependant = stack.pop()
        params += dependant.body_params
        stack += dependant.dependencies
    return params


def test_every_request_body_is_a_strict_input(tmp_path: Path) -> None:
    app = create_app(CentralConfig(root=StateRoot.at(tmp_path)), background=False)
    offenders: list[str] = []
    bodies = 0
    for route in _api_routes(app.routes):
        for param in _body_params(route):
            bodies += 1
            what = f"{'/'.join(sorted(route.methods))} {route.path}"
            annotation = param.field_info.annotation
            if not _models(annotation) and annotation is not bytes:
                offenders.append(f"{what}: the body {annotation!r} is not a model")
            offenders += _offences(annotation, what, set())
    assert bodies > 30, "no request bodies found: the walk over the routes is broken"
    print("\nrequest bodies that are not strict Input models:\n  " + "\n  ".join(offenders))
    assert not offenders, offenders


def test_input_is_strict_without_coercion() -> None:
    from central.auth.schemas import UserCreate

    with pytest.raises(ValueError, match="enabled"):
        UserCreate.model_validate(
            {"username": "ok", "role": "read-only", "password": "p" * 12, "enabled": "yes"}
        )
