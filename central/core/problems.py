"""Errors as problem JSON (RFC 9457), each naming the field that was wrong.

A problem answer looks like::

    {"type": "urn:burrow:problem:validation-error", "title": "Invalid input",
     "status": 422, "detail": "username: String should have at most 64 characters",
     "field": "username", "errors": [{"field": "username", "message": "..."}]}

Validation errors of pydantic (wrong types, unknown fields, over-long strings, invalid ids),
``services.common.errors`` exceptions and Starlette's HTTP errors all answer this way.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.common.errors import BurrowError

log = logging.getLogger(__name__)

MEDIA_TYPE = "application/problem+json"
TITLES = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    422: "Invalid input",
    429: "Too many requests",
    500: "Internal error",
    502: "Daemon error",
}
CODES = {
    400: "bad-request",
    401: "not-authenticated",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    422: "validation-error",
    429: "too-many-requests",
    500: "internal-error",
}


class FieldError(BaseModel):
    """One wrong field."""

    field: str
    message: str


class Problem(BaseModel):
    """Problem details (RFC 9457) as Central answers them."""

    type: str
    title: str
    status: int
    detail: str
    field: str | None = None
    errors: list[FieldError] | None = None


def _documented(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {MEDIA_TYPE: {"schema": Problem.model_json_schema()}},
    }


#: The error answers of every authenticated endpoint, for the OpenAPI document.
RESPONSES: dict[int | str, dict[str, Any]] = {
    401: _documented("Not authenticated: no, an unknown, an expired or a revoked token"),
    403: _documented("The caller's role does not allow this"),
    404: _documented("No such object"),
    422: _documented("Invalid input; ``field`` names what was wrong; nothing was changed"),
}


class ProblemError(BurrowError):
    """An API error with an HTTP status of its own (401, 429, ...)."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message, field=field)
        self.status = status
        self.code = CODES.get(status, "error")
        self.headers = headers or {}


def problem(
    status: int,
    detail: str,
    *,
    code: str | None = None,
    field: str | None = None,
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"urn:burrow:problem:{code or CODES.get(status, 'error')}",
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    if field is not None:
        body["field"] = field
    if errors is not None:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def _field(loc: Sequence[Any]) -> str:
    # ("body", "role") -> "role"; ("path", "user_id") -> "user_id"; ("query", "limit") -> "limit"
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:]
    return ".".join(parts) or "body"


def validation_errors(errors: Sequence[Any]) -> list[dict[str, str]]:
    out = []
    for error in errors:
        field = _field(error.get("loc", ()))
        message = str(error.get("msg", "invalid"))
        if error.get("type") == "extra_forbidden":
            message = "unknown field"
        out.append({"field": field, "message": message})
    return out


def install(app: FastAPI) -> None:
    """Make every error of ``app`` a problem JSON answer."""

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = validation_errors(exc.errors())
        first = errors[0] if errors else {"field": "body", "message": "invalid"}
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        return problem(422, detail, field=first["field"], errors=errors)

    @app.exception_handler(BurrowError)
    async def _burrow(_request: Request, exc: BurrowError) -> JSONResponse:
        headers = getattr(exc, "headers", None)
        errors = [{"field": exc.field, "message": exc.message}] if exc.field else None
        return problem(
            exc.status, exc.message, code=exc.code, field=exc.field, errors=errors, headers=headers
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        headers = dict(exc.headers) if exc.headers else None
        return problem(exc.status_code, str(exc.detail), headers=headers)

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error", exc_info=exc)
        return problem(500, "Central failed to handle the request; see its log.")
