"""Central's errors: the one problem format of ``services.common.problems``.

Central answers every error with that module's schema (``type``, ``title``, ``status``,
``detail``, ``problems``), passes every problem an agent found through unchanged and in order,
and refuses request bodies over ``max_request_bytes`` (see ``central.core.config``) with 413
before they are parsed. ``ProblemError`` is for the statuses that have no class of their own.
"""

from __future__ import annotations

from typing import Any

from services.common import problems as common
from services.common.errors import BurrowError, FieldProblem
from services.common.problems import MEDIA_TYPE, RESPONSES, Problem

__all__ = ["MEDIA_TYPE", "RESPONSES", "Problem", "ProblemError", "install"]


class ProblemError(BurrowError):
    """An API error with an HTTP status of its own (401, 429, ...)."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        field: str | None = None,
        problems: list[FieldProblem] | None = None,
        headers: dict[str, str] | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, field=field, problems=problems or (), headers=headers, hint=hint)
        self.status = status
        self.code = common.CODES.get(status, "error")
        self.title = common.TITLES.get(status, "Error")


def install(app: Any, *, max_body: int = common.DEFAULT_MAX_BODY,
            limits: dict[str, int] | None = None) -> None:  # fmt: skip
    """Make every error of Central's application a problem answer."""
    common.install(
        app, service="Central", max_body=max_body, limits=limits, setting="max_request_bytes"
    )
