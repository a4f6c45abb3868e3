"""Central's OpenAPI document describes what its operations answer.

An operation counts as described when its success response has a content schema that says
what is in it: a model (``$ref``), an object with properties, a list of described items, a
scalar, or a file by its media type (``format: binary``). ``{"type": "object",
"additionalProperties": true}``, what FastAPI makes of ``dict[str, Any]``, describes nothing.
A success that is 204 has no body and so nothing to describe. Error answers are the one
problem format (``services.common.problems.Problem``), documented on every router.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from tests.central.conftest import Api

#: At least this share of operations must describe their success response (issue 14).
TARGET = 0.95


def described(schema: Any) -> bool:
    """Whether ``schema`` says what the answer holds."""
    if not isinstance(schema, dict) or not schema:
        return False
    if "$ref" in schema:
        return True
    for combined in ("anyOf", "oneOf", "allOf"):
        if combined in schema:
            return all(described(part) or part.get("type") == "null" for part in schema[combined])
    kind = schema.get("type")
    if kind == "object":
        return bool(schema.get("properties"))
    if kind == "array":
        return described(schema.get("items"))
    return kind in ("string", "integer", "number", "boolean")


def describes_success(operation: dict[str, Any]) -> bool:
    successes = {code: r for code, r in operation["responses"].items() if code.startswith("2")}
    for code, response in successes.items():
        if code == "204":
            if response.get("content"):
                return False  # a 204 carries no body: content here would be a lie
            return True
        content = response.get("content") or {}
        if content and all(described(media.get("schema")) for media in content.values()):
            return True
    return False


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    methods = ("get", "put", "post", "patch", "delete")
    return [
        (method.upper(), path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in methods
    ]


def test_the_openapi_document_describes_the_answers(central: Api) -> None:
    response = central.call("GET", "/api/v1/openapi.json")
    assert response.status_code == 200, response.text
    document = response.json()
    assert document["openapi"].startswith("3.")
    every = operations(document)
    assert len(every) > 50, "Central's routes are missing from its OpenAPI document"
    undescribed = [f"{method} {path}" for method, path, op in every if not describes_success(op)]
    share = 1 - len(undescribed) / len(every)
    print(f"\n{len(every) - len(undescribed)} of {len(every)} operations ({share:.1%}) describe "
          f"their success answer; these do not:\n  " + "\n  ".join(undescribed))  # fmt: skip
    assert share >= TARGET, f"{share:.1%} < {TARGET:.0%}: the undescribed are printed above"


def test_errors_are_documented_as_the_one_problem_format(central: Api) -> None:
    document = central.call("GET", "/api/v1/openapi.json").json()
    problem = {"$ref": "#/components/schemas/Problem"}
    for method, path, operation in operations(document):
        if path == "/api/v1/health":
            continue
        errors = {code: r for code, r in operation["responses"].items() if code[0] in "45"}
        assert "422" in errors, f"{method} {path}: 422 undocumented"
        for code, answer in errors.items():
            media = answer.get("content", {})
            assert media == {"application/problem+json": {"schema": problem}}, (
                method, path, code, media,
            )  # fmt: skip
    schemas = document["components"]["schemas"]
    assert set(schemas["Problem"]["properties"]) == {
        "type", "title", "status", "detail", "hint", "problems",
    }  # fmt: skip
    assert schemas["Problem"]["additionalProperties"] is False
    assert set(schemas["ProblemItem"]["required"]) == {"field", "message"}


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def test_every_reference_of_the_document_resolves(central: Api) -> None:
    document = central.call("GET", "/api/v1/openapi.json").json()
    known = {f"#/components/schemas/{name}" for name in document["components"]["schemas"]}
    dangling = sorted(set(_refs(document)) - known)
    assert not dangling, dangling
