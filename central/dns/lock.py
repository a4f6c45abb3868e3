"""One DNS write (or sync) at a time in this Central.

A sync reading a zone or the options back between an agent's apply and Central's store would
take Central's own change for an external one.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import ParamSpec, TypeVar

_WRITE = threading.Lock()
P = ParamSpec("P")
R = TypeVar("R")


def serialized(func: Callable[P, R]) -> Callable[P, R]:
    """Run ``func`` holding the DNS write lock."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with _WRITE:
            return func(*args, **kwargs)

    return wrapper
