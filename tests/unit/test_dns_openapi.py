"""Central's DNS routes describe every answer in the OpenAPI document, and their request
models take nothing coerced (no daemon needed: the document and the models only)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pydantic
import pytest

from central.app import create_app
from central.core.config import CentralConfig
from central.dns.schemas import OptionsRequest, ZoneCreateRequest
from services.common.dns.contract import ChangeSet
from services.common.paths import StateRoot


def _operations(tmp_path: Path) -> list[tuple[str, str, dict[str, Any]]]:
    app = create_app(CentralConfig(root=StateRoot.at(tmp_path)), background=False)
    spec = app.openapi()
    return [
        (path, method, operation)
        for path, item in spec["paths"].items()
        if path.startswith("/api/v1/dns/")
        for method, operation in item.items()
    ]


def test_every_dns_operation_describes_its_answer(tmp_path: Path) -> None:
    operations = _operations(tmp_path)
    assert len(operations) >= 17
    for path, method, operation in operations:
        answers = operation["responses"]
        ok = [code for code in answers if code.startswith("2")]
        assert ok, (method, path)
        for code in ok:
            if code == "204":
                continue
            schema = answers[code]["content"]["application/json"]["schema"]
            assert schema.get("$ref") or schema.get("type") == "object", (method, path, schema)
        for code in ("401", "422"):
            problem = answers[code]["content"]["application/problem+json"]["schema"]
            assert problem == {"$ref": "#/components/schemas/Problem"}, (method, path, code)
    spec = create_app(CentralConfig(root=StateRoot.at(tmp_path)), background=False).openapi()
    assert "problems" in spec["components"]["schemas"]["Problem"]["properties"]


@pytest.mark.parametrize(
    ("model", "body", "field"),
    [
        (ChangeSet, {"changes": [{"action": "create", "record": {
            "name": "a", "type": "A", "data": "198.51.100.1", "ttl": "60"}}]},
         ("changes", 0, "record", "ttl")),
        (OptionsRequest, {"options": {"recursion": "yes"}}, ("options", "recursion")),
        (ZoneCreateRequest, {"server_id": "1", "name": "x.test"}, ("server_id",)),
        (ZoneCreateRequest, {"server_id": 1, "name": "x.test", "ttl": 60.0}, ("ttl",)),
    ],
)  # fmt: skip
def test_request_models_coerce_nothing(
    model: type[pydantic.BaseModel], body: dict[str, Any], field: tuple[Any, ...]
) -> None:
    with pytest.raises(pydantic.ValidationError) as info:
        model.model_validate(body)
    assert [error["loc"] for error in info.value.errors()] == [field]
