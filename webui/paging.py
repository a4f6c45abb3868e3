"""Paging and sorting of the console's tables, on top of Central's list convention."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode


@dataclass(frozen=True)
class Pager:
    """Where a page is in a list of ``total`` items, and the links to its neighbours."""

    offset: int
    limit: int
    total: int

    @property
    def page(self) -> int:
        return self.offset // self.limit + 1

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.limit))

    @property
    def first(self) -> int:
        return min(self.total, self.offset + 1)

    @property
    def last(self) -> int:
        return min(self.total, self.offset + self.limit)

    @property
    def previous_offset(self) -> int | None:
        return max(0, self.offset - self.limit) if self.offset > 0 else None

    @property
    def next_offset(self) -> int | None:
        return self.offset + self.limit if self.offset + self.limit < self.total else None


def clamp_offset(raw: str | None, limit: int) -> int:
    """A page offset from a query string: a multiple of ``limit``, never negative."""
    try:
        value = int(raw or 0)
    except ValueError:
        return 0
    return max(0, min(value, 10**9)) // limit * limit


def sort_key(raw: str | None, allowed: tuple[str, ...], default: str) -> str:
    """``raw`` if it names an allowed column (``-`` for descending), else ``default``."""
    if raw and raw.lstrip("-") in allowed:
        return raw
    return default


def toggled(current: str, column: str) -> str:
    """The sort a column's heading links to: ascending first, then descending."""
    return f"-{column}" if current == column else column


def query(base: Mapping[str, object], **changes: object) -> str:
    """A query string of ``base`` with ``changes``; empty values are left out."""
    merged = {**base, **changes}
    return urlencode(
        {k: v for k, v in merged.items() if v not in (None, "") and not (k == "offset" and v == 0)}
    )
