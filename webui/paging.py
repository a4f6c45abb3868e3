"""Paging and sorting of the console's tables, on top of Central's list convention, and the
rows a bulk action was asked for.

A page's navigation (``pager_nav`` in macros.html) shows First, Previous, the numbers around
the current page with the first and the last, Next and Last (``Pager.jumps``). A bulk action
posts the checked rows' values as ``selected`` (``bulk_head``, ``bulk_cell`` and ``bulk_bar``
in macros.html; ``selected(form)`` reads them back).
"""

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

    @property
    def last_offset(self) -> int:
        return (self.pages - 1) * self.limit

    def offset_of(self, page: int) -> int:
        return (min(max(page, 1), self.pages) - 1) * self.limit

    def jumps(self, around: int = 2) -> list[int | None]:
        """The page numbers to link: the first, the last and ``around`` pages either side of
        this one; None where pages are left out (shown as an ellipsis)."""
        wanted = {1, self.pages, *range(self.page - around, self.page + around + 1)}
        numbers = sorted(n for n in wanted if 1 <= n <= self.pages)
        out: list[int | None] = []
        previous = 0
        for n in numbers:
            if previous and n - previous > 1:
                out.append(None)
            out.append(n)
            previous = n
        return out


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


def selected(form: Mapping[str, str], name: str = "selected", limit: int = 1000) -> list[str]:
    """The values of the rows checked for a bulk action (a repeated field arrives joined by
    newlines, see ``webui.web.read_form``), each once, in order; at most ``limit``."""
    seen: dict[str, None] = {}
    for value in form.get(name, "").split("\n"):
        value = value.strip()
        if value:
            seen.setdefault(value, None)
    return list(seen)[:limit]
