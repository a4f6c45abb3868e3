"""Checks that an answer is the one problem format of every Burrow program.

``assert_problem`` validates the body against ``services.common.problems.Problem`` (unknown
top-level members are refused, so a second dialect cannot creep in) and, when asked, that a
problem names ``field``.
"""

from __future__ import annotations

from typing import Any

import httpx

from services.common.problems import MEDIA_TYPE, Problem


def check_problem(status_code: int, content_type: str, body: Any, status: int,
                  field: str | None = None) -> dict[str, Any]:  # fmt: skip
    """The checks of ``assert_problem`` on an answer's parts."""
    assert status_code == status, body
    assert content_type.startswith(MEDIA_TYPE), content_type
    problem = Problem.model_validate(body)
    assert problem.status == status
    assert problem.type.startswith("urn:burrow:problem:")
    assert problem.title and problem.detail
    if field is not None:
        fields = [item.field for item in problem.problems]
        assert field in fields, body
    return dict(body)


def assert_problem(
    response: httpx.Response, status: int, field: str | None = None
) -> dict[str, Any]:
    """``response`` is problem JSON (RFC 9457) of the one schema with ``status``; with
    ``field``, one of its problems names that field."""
    return check_problem(
        response.status_code,
        response.headers.get("content-type", ""),
        response.json(),
        status,
        field,
    )
