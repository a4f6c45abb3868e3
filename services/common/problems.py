"""The one error format of every Burrow program: RFC 9457 problem details.

Central, every agent, the restore receiver and the console answer errors with this one schema
(media type ``application/problem+json``)::

    {"type": "urn:burrow:problem:validation-error", "title": "Invalid input", "status": 422,
     "detail": "records[17].data: not an IPv4 address (and 9 more problems)",
     "problems": [{"field": "records[17].data", "message": "not an IPv4 address",
                   "line": 23}, ...]}

- ``type`` is stable per kind of error (``urn:burrow:problem:`` + the error's code);
- ``detail`` is one sentence for people; ``hint``, when there is one, says what to do;
- ``problems`` lists every wrong field in order, each in the caller's terms (the body's field
  path with list indexes, or a line of an imported file), never a validator's internals.

``install(app)`` makes every error of a FastAPI application answer this way (request
validation, ``services.common.errors`` exceptions, Starlette's HTTP errors, the unexpected) and
limits request bodies (``BodyLimit``). ``error_from_answer`` turns a problem answer back into
the matching exception, so an agent's problems pass through Central unchanged.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.common.errors import (
    BY_STATUS,
    BurrowError,
    DaemonError,
    FieldProblem,
    TooLargeError,
    ValidationError,
)

log = logging.getLogger(__name__)

MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:burrow:problem:"

#: Request bodies larger than this are refused with 413 before they are parsed, unless a
#: program or a path sets another limit (see ``BodyLimit``).
DEFAULT_MAX_BODY = 8 * 1024 * 1024
#: An agent takes what Central forwards (a whole DHCP configuration, a zone import) with room
#: for the JSON around it.
AGENT_MAX_BODY = 2 * DEFAULT_MAX_BODY

TITLES = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Request too large",
    415: "Unsupported media type",
    422: "Invalid input",
    429: "Too many requests",
    500: "Internal error",
    502: "Daemon error",
    503: "Service unavailable",
    504: "Timed out",
}
CODES = {
    400: "bad-request",
    401: "not-authenticated",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    413: "too-large",
    415: "unsupported-media-type",
    422: "validation-error",
    429: "too-many-requests",
    500: "internal-error",
    502: "daemon-error",
    503: "unavailable",
    504: "timed-out",
}


class ProblemItem(BaseModel):
    """One wrong field: where, in the caller's terms, and why. Domains add members such as
    ``line`` (of an imported file), ``name`` and ``type`` (of a DNS record)."""

    model_config = ConfigDict(extra="allow")
    field: str = Field(description="the field in the request's terms, or 'line N' of a file")
    message: str = Field(description="what is wrong, in plain words")


class Problem(BaseModel):
    """Problem details (RFC 9457), the one error answer of every Burrow program."""

    model_config = ConfigDict(extra="forbid")
    type: str = Field(description="urn:burrow:problem:<code>, stable per kind of error")
    title: str
    status: int
    detail: str = Field(description="one sentence for people")
    hint: str | None = Field(default=None, description="what to do about it")
    problems: list[ProblemItem] = Field(
        default_factory=list, description="every wrong field, in order"
    )


#: Where the OpenAPI document keeps the schemas of ``Problem`` and ``ProblemItem`` (``install``
#: puts them there): one definition instead of a copy in every response, whose ``$defs``
#: references would not resolve inside a path's response.
COMPONENTS = "#/components/schemas/{model}"


def documented(description: str) -> dict[str, Any]:
    """An OpenAPI ``responses`` entry whose body is a ``Problem``."""
    schema = {"$ref": COMPONENTS.format(model="Problem")}
    return {"description": description, "content": {MEDIA_TYPE: {"schema": schema}}}


def problem_components() -> dict[str, Any]:
    """The OpenAPI component schemas ``documented`` refers to."""
    schema = Problem.model_json_schema(ref_template=COMPONENTS)
    components: dict[str, Any] = dict(schema.pop("$defs", {}))
    components["Problem"] = schema
    return components


#: The error answers every Burrow API may give, for the OpenAPI documents.
RESPONSES: dict[int | str, dict[str, Any]] = {
    401: documented("Not authenticated: no, an unknown, an expired or a revoked credential"),
    403: documented("The caller's role does not allow this"),
    404: documented("No such object"),
    413: documented("The request body is over the documented limit; nothing was read"),
    422: documented("Invalid input; ``problems`` name every wrong field; nothing was changed"),
}


# --- making answers --------------------------------------------------------------------------
def body(
    status: int,
    detail: str,
    *,
    code: str | None = None,
    title: str | None = None,
    hint: str | None = None,
    problems: Sequence[FieldProblem] = (),
) -> dict[str, Any]:
    """The problem body as a dictionary."""
    out: dict[str, Any] = {
        "type": TYPE_PREFIX + (code or CODES.get(status, "error")),
        "title": title or TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    if hint:
        out["hint"] = hint
    out["problems"] = [p.as_dict() for p in problems]
    return out


def response(
    status: int,
    detail: str,
    *,
    code: str | None = None,
    title: str | None = None,
    hint: str | None = None,
    problems: Sequence[FieldProblem] = (),
    headers: dict[str, str] | None = None,
) -> Response:
    """A problem answer."""
    content = body(status, detail, code=code, title=title, hint=hint, problems=problems)
    return Response(
        orjson.dumps(content), status_code=status, media_type=MEDIA_TYPE, headers=headers
    )


def error_response(exc: BurrowError) -> Response:
    """The answer for one of Burrow's own errors."""
    status = exc.status if 400 <= exc.status < 600 else 500
    return response(
        status,
        exc.message,
        code=exc.code,
        title=exc.title,
        hint=exc.hint,
        problems=exc.problems,
        headers=exc.headers or None,
    )


# --- request validation in the caller's terms ------------------------------------------------
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
_ROOTS = ("body", "query", "path", "header", "cookie")
_PLAIN: dict[str, str] = {
    "missing": "is required",
    "extra_forbidden": "is not a known field",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "string_type": "must be text",
    "list_type": "must be a list",
    "dict_type": "must be an object",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
    "json_invalid": "is not valid JSON",
}


def field_path(loc: Sequence[Any]) -> str:
    """``("body", "scopes", 2, "pools", 0, "start")`` -> ``scopes[2].pools[0].start``.

    Tags that pydantic adds for union members and validators (``lax-or-strict[...]``,
    ``function-after[...]``, ``IPv4Network``, ``int``) are not fields and are left out.
    """
    parts = list(loc)
    if parts and parts[0] in _ROOTS:
        parts = parts[1:]
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _NAME.match(str(part)) and not _is_tag(str(part)):
            out += f".{part}" if out else str(part)
    return out or "body"


def _is_tag(part: str) -> bool:
    # Type names of union members: IPv4Address, int, str, ZoneKind, ... A field is snake_case.
    return part[:1].isupper() or part in ("int", "str", "bool", "float", "list", "dict", "none")


def _plain(error: dict[str, Any]) -> str:
    kind = str(error.get("type", ""))
    if kind in _PLAIN:
        return _PLAIN[kind]
    message = str(error.get("msg", "invalid"))
    message = message.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    # pydantic's "Input should be ...", "String should have at least 12 characters", "List
    # should have at most 10000 items": the field is named beside the message already.
    for subject in ("Input", "String", "List", "Value", "Dictionary", "Tuple", "Set"):
        if message.startswith(subject + " should "):
            return "must " + message.removeprefix(subject + " should ")
    return message


def validation_problems(errors: Sequence[Any]) -> list[FieldProblem]:
    """pydantic's errors as problems, one per field (a union reports a field once per member:
    the first is kept)."""
    out: list[FieldProblem] = []
    seen: set[str] = set()
    for error in errors:
        where = field_path(error.get("loc", ()))
        message = _plain(error)
        if error.get("type") == "json_invalid":
            # loc is ("body", <character position>): the field is the body itself
            where, position = "body", list(error.get("loc", ()))[-1]
            reason = str((error.get("ctx") or {}).get("error") or "").strip()
            if isinstance(position, int):
                message += f" (character {position}{': ' + reason if reason else ''})"
        if where in seen:
            continue
        seen.add(where)
        out.append(FieldProblem(where, message))
    return out


def summary(problems: Sequence[FieldProblem], fallback: str = "invalid input") -> str:
    """One sentence naming the first problem and how many more there are."""
    if not problems:
        return fallback
    first = problems[0]
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return f"{first.field}: {first.message}{more}"


def under(prefix: str, exc: BurrowError) -> BurrowError:
    """An agent's refusal with each field named as in Central's request, where the agent's
    body is the field ``prefix`` (``listen_on[0]`` is ``options.listen_on[0]``); status, order
    and everything else as the agent said."""
    problems = [
        FieldProblem(f"{prefix}.{p.field}" if p.field and p.field != "body" else prefix,
                     p.message, p.extra)
        for p in exc.problems
    ]  # fmt: skip
    if problems:
        exc.message = summary(problems, exc.message)
        exc.problems = problems
    return exc


# --- installing into an application -----------------------------------------------------------
def install(
    app: Any,
    *,
    service: str,
    max_body: int = DEFAULT_MAX_BODY,
    limits: dict[str, int] | None = None,
    setting: str | None = None,
) -> None:
    """Make every error of the FastAPI application ``app`` a problem answer, and refuse request
    bodies over ``max_body`` bytes (``limits`` gives other limits for path prefixes)."""
    from fastapi.exceptions import RequestValidationError

    async def validation(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        problems = validation_problems(exc.errors())
        return response(422, summary(problems), problems=problems)

    async def burrow(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, BurrowError)
        if exc.status >= 500:
            log.error("%s %s: %s", request.method, request.url.path, exc)
        return error_response(exc)

    async def http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        headers = dict(exc.headers) if exc.headers else None
        if exc.status_code == 405:
            # Starlette names the methods of the first route of the path only; every method
            # of every route of the path is allowed (RFC 9110 section 15.5.6).
            allow = allowed_methods(request, (headers or {}).get("Allow", ""))
            headers = {**(headers or {}), "Allow": allow}
        detail = exc.detail if isinstance(exc.detail, str) else TITLES.get(exc.status_code, "")
        return response(exc.status_code, detail or "error", headers=headers)

    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("%s %s failed", request.method, request.url.path, exc_info=exc)
        return response(500, f"The {service} failed to handle the request; see its log.")

    app.add_exception_handler(RequestValidationError, validation)
    app.add_exception_handler(BurrowError, burrow)
    app.add_exception_handler(StarletteHTTPException, http)
    app.add_exception_handler(Exception, unexpected)
    app.add_middleware(BodyLimit, max_body=max_body, limits=limits or {}, setting=setting)
    _document_problems(app)


def _document_problems(app: Any) -> None:
    """Add the schemas ``documented`` refers to to the application's OpenAPI document."""
    make = getattr(app, "openapi", None)
    if make is None:
        return

    def openapi() -> dict[str, Any]:
        document: dict[str, Any] = make()
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        for name, schema in problem_components().items():
            schemas.setdefault(name, schema)
        return document

    app.openapi = openapi


def allowed_methods(request: Request, fallback: str = "") -> str:
    """Every method the routes of ``request``'s path take, for ``Allow`` (``fallback`` when
    none is found, e.g. under a prefix given when a router was included)."""
    path = request.scope.get("path", "")
    methods: set[str] = set()
    for route in _leaf_routes(getattr(request.app, "routes", ())):
        regex = getattr(route, "path_regex", None)
        if regex is not None and regex.match(path):
            methods |= set(getattr(route, "methods", None) or ())
    return ", ".join(sorted(methods)) or fallback


def _leaf_routes(routes: Any) -> Any:
    # FastAPI keeps an included router as one route of its own (``original_router``).
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from _leaf_routes(inner.routes)
        else:
            yield route


class BodyLimit:
    """ASGI middleware: a request body over the limit is answered 413 before it is parsed.

    A declared ``Content-Length`` over the limit is refused before a byte of the body is
    read; a body sent without one is counted as it arrives and refused when it passes the limit.
    """

    def __init__(
        self,
        app: ASGIApp,
        max_body: int = DEFAULT_MAX_BODY,
        limits: dict[str, int] | None = None,
        setting: str | None = None,
    ) -> None:
        self.app = app
        self.max_body = max_body
        self.setting = setting
        # Longest prefix first, so /api/v1/backups/x beats /api/v1.
        self.limits = sorted((limits or {}).items(), key=lambda item: -len(item[0]))

    def limit_for(self, path: str) -> int:
        for prefix, limit in self.limits:
            if path.startswith(prefix):
                return limit
        return self.max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope.get("path", ""))
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > limit:
                    await self._refuse(scope, send, limit)
                    return
        received = 0
        exceeded = False
        forwarded = False

        async def counted() -> Message:
            nonlocal received, exceeded
            if exceeded:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # The application sees the client leave; its answer to that is replaced
                    # by the 413 below.
                    exceeded = True
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal forwarded
            if exceeded and not forwarded:
                return
            forwarded = True
            await send(message)

        try:
            await self.app(scope, counted, guarded_send)
        except Exception:
            if not exceeded:
                raise
        if exceeded and not forwarded:
            await self._refuse(scope, send, limit)

    async def _refuse(self, scope: Scope, send: Send, limit: int) -> None:
        hint = "send less at once"
        if self.setting:
            hint += f", or raise the limit ({self.setting}) if this is intended"
        exc = TooLargeError(f"The request body is larger than {limit} bytes.", hint=hint)
        answer = error_response(exc)
        answer.headers["Connection"] = "close"
        await answer(scope, _empty_receive, send)


async def _empty_receive() -> Message:
    return {"type": "http.disconnect"}


# --- reading answers back ----------------------------------------------------------------------
def error_from_answer(status: int, answer: Any, *, who: str) -> BurrowError:
    """The exception for a problem answer of ``who`` (``the dns-agent at 198.51.100.2``).

    A 4xx keeps its status, detail and every problem; a 5xx becomes a ``DaemonError`` (502)
    that says who failed. A body that is not problem JSON is described, not passed on raw.
    """
    if isinstance(answer, dict) and isinstance(answer.get("detail"), str):
        detail = str(answer["detail"])
        items = answer.get("problems") or []
        problems = [FieldProblem.from_dict(p) for p in items if isinstance(p, dict)]
        hint = answer.get("hint") if isinstance(answer.get("hint"), str) else None
    else:
        detail = f"HTTP {status}" + (f": {str(answer)[:200]}" if answer else "")
        problems, hint = [], None
    if 400 <= status < 500:
        kind = BY_STATUS.get(status, ValidationError if status == 400 else BurrowError)
        error = kind(detail, hint=hint, problems=problems)
        if kind is BurrowError:
            error.status = status
        # The agent's own type of problem (refused-by-daemon, ...) passes on unchanged too.
        if isinstance(answer, dict) and str(answer.get("type", "")).startswith(TYPE_PREFIX):
            error.code = str(answer["type"]).removeprefix(TYPE_PREFIX)
            error.title = str(answer.get("title") or error.title)
        return error
    return DaemonError(f"{who} failed: {detail}", hint=hint, problems=problems)
