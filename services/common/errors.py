"""The one exception tree of Burrow, with stable codes.

Every error carries a list of ``problems`` (one per wrong field, in order: a zone import with
ten bad records carries ten), and answers on the wire as RFC 9457 problem JSON made by
``services.common.problems``.

BurrowError              base; ``code`` is stable, ``message`` is one sentence for people
├── ValidationError      bad input; ``problems`` name every wrong field (HTTP 422)
├── UnauthenticatedError no, an unknown or an expired credential (HTTP 401)
├── ForbiddenError       the caller may not do this (HTTP 403)
├── NotFoundError        no such object (HTTP 404)
├── ConflictError        the change clashes with what exists (HTTP 409)
├── TooLargeError        the request body is over the documented limit (HTTP 413)
├── TooManyRequestsError the caller must wait (HTTP 429)
├── DaemonError          a daemon (named, Kea) or an agent failed (HTTP 502)
├── UnavailableError     an agent or a peer cannot be reached; try again later (HTTP 503)
└── SetupError           the machine lacks something Burrow needs (command line only)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class FieldProblem:
    """One thing wrong: the field in the caller's terms (``records[17].data``,
    ``scopes[2].pools[0].start``, ``line 12``) and why, in plain words.

    ``extra`` holds what a domain adds (``line``, ``name``, ``type`` of a DNS record); it goes
    on the wire beside ``field`` and ``message``.
    """

    field: str
    message: str
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"field": self.field, "message": self.message, **self.extra}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FieldProblem:
        rest = {k: v for k, v in data.items() if k not in ("field", "message")}
        return cls(str(data.get("field") or ""), str(data.get("message") or ""), rest)


class BurrowError(Exception):
    """Base of every error Burrow raises on purpose."""

    code = "burrow-error"
    status = 500
    title = "Internal error"

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        field: str | None = None,
        problems: Iterable[FieldProblem] = (),
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.problems: list[FieldProblem] = list(problems)
        if field is not None and not self.problems:
            self.problems = [FieldProblem(field, message)]
        self.headers: dict[str, str] = dict(headers or {})

    @property
    def field(self) -> str | None:
        """The first field at fault, if any."""
        return self.problems[0].field if self.problems else None

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message} ({self.hint})"


class ValidationError(BurrowError):
    """Input that does not make sense; nothing was changed."""

    code = "validation-error"
    status = 422
    title = "Invalid input"


class UnauthenticatedError(BurrowError):
    """No credential, or one that is unknown, expired or revoked."""

    code = "not-authenticated"
    status = 401
    title = "Not authenticated"


class ForbiddenError(BurrowError):
    """The caller's role does not allow this."""

    code = "forbidden"
    status = 403
    title = "Forbidden"


class NotFoundError(BurrowError):
    """The object asked for does not exist."""

    code = "not-found"
    status = 404
    title = "Not found"


class ConflictError(BurrowError):
    """The change clashes with something that already exists."""

    code = "conflict"
    status = 409
    title = "Conflict"


class TooLargeError(BurrowError):
    """The request body is larger than the program takes."""

    code = "too-large"
    status = 413
    title = "Request too large"


class TooManyRequestsError(BurrowError):
    """Too many attempts; ``Retry-After`` says when to try again."""

    code = "too-many-requests"
    status = 429
    title = "Too many requests"


class DaemonError(BurrowError):
    """A daemon or an agent failed to do what it was asked."""

    code = "daemon-error"
    status = 502
    title = "Daemon error"


class UnavailableError(BurrowError):
    """An agent or a peer cannot be reached now; nothing was changed. ``Retry-After`` says
    when to try again."""

    code = "unavailable"
    status = 503
    title = "Service unavailable"

    def __init__(self, message: str, *, retry_after: int = 5, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.headers.setdefault("Retry-After", str(retry_after))


class SetupError(BurrowError):
    """The machine is missing something Burrow needs to run."""

    code = "setup-error"


#: Every error class by HTTP status, for turning a problem answer back into an exception.
BY_STATUS: dict[int, type[BurrowError]] = {
    cls.status: cls
    for cls in (
        ValidationError,
        UnauthenticatedError,
        ForbiddenError,
        NotFoundError,
        ConflictError,
        TooLargeError,
        TooManyRequestsError,
        DaemonError,
        UnavailableError,
    )
}
