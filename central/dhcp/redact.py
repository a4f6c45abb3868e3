"""Secrets in a Kea configuration, hidden wherever Central shows or records it.

A Kea configuration can hold passwords: a database's (``lease-database``, ``hosts-database``,
``config-control``), an HA peer's ``basic-auth-password`` (a pair made by hand, or before
Burrow's pairs used certificates), a TSIG ``secret``. Central answers the raw configuration and
records changes with every such value replaced by ``HIDDEN``, for every role. A raw
configuration sent back with ``HIDDEN`` in place of a secret keeps the server's value there
(``restored``), so a configuration read, edited and sent back stays whole.
"""

from __future__ import annotations

from typing import Any

from services.common.errors import ValidationError

HIDDEN = "(hidden)"
#: Keys whose values are secrets anywhere in a Kea (or D2) configuration.
SECRET_KEYS = frozenset({"password", "basic-auth-password", "secret"})


def redacted(value: Any) -> Any:
    """A copy of ``value`` with every secret replaced by ``HIDDEN``."""
    if isinstance(value, dict):
        return {
            key: HIDDEN if key in SECRET_KEYS and isinstance(item, str) else redacted(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [redacted(item) for item in value]
    return value


def restored(given: Any, current: Any, where: str = "config") -> Any:
    """``given`` with each ``HIDDEN`` secret taken from the same place in ``current``; a
    ``HIDDEN`` with no secret at that place is refused, naming it."""
    if isinstance(given, dict):
        out: dict[str, Any] = {}
        for key, item in given.items():
            there = current.get(key) if isinstance(current, dict) else None
            if key in SECRET_KEYS and item == HIDDEN:
                if not isinstance(there, str):
                    raise ValidationError(
                        f"{where}.{key}: {HIDDEN} stands for the server's secret, and the "
                        "server has none there",
                        field=f"{where}.{key}",
                        hint="give the secret itself",
                    )
                out[key] = there
            else:
                out[key] = restored(item, there, f"{where}.{key}")
        return out
    if isinstance(given, list):
        others = current if isinstance(current, list) else []
        return [
            restored(item, others[i] if i < len(others) else None, f"{where}[{i}]")
            for i, item in enumerate(given)
        ]
    return given
