"""The one exception tree of Burrow, with stable codes.

BurrowError            base; ``code`` is stable, ``message`` is one sentence for people
├── ValidationError    bad input; ``field`` names what was wrong (HTTP 422)
├── NotFoundError      no such object (HTTP 404)
├── ConflictError      the change clashes with what exists (HTTP 409)
├── PermissionError_   the caller may not do this (HTTP 403)
├── DaemonError        a daemon (named, Kea) refused or failed (HTTP 502)
└── SetupError         the machine lacks something Burrow needs (command line only)
"""

from __future__ import annotations


class BurrowError(Exception):
    """Base of every error Burrow raises on purpose."""

    code = "burrow-error"
    status = 500

    def __init__(self, message: str, *, hint: str | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.field = field

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message} ({self.hint})"


class ValidationError(BurrowError):
    """Input that does not make sense; nothing was changed."""

    code = "validation-error"
    status = 422


class NotFoundError(BurrowError):
    """The object asked for does not exist."""

    code = "not-found"
    status = 404


class ConflictError(BurrowError):
    """The change clashes with something that already exists."""

    code = "conflict"
    status = 409


class ForbiddenError(BurrowError):
    """The caller's role does not allow this."""

    code = "forbidden"
    status = 403


class DaemonError(BurrowError):
    """A daemon refused a change or could not be reached."""

    code = "daemon-error"
    status = 502


class SetupError(BurrowError):
    """The machine is missing something Burrow needs to run."""

    code = "setup-error"
