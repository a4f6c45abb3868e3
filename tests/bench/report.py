"""Figures and the table they are printed in."""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass
from typing import Any


@dataclass
class Figure:
    """One measured figure."""

    benchmark: str
    metric: str
    value: float
    unit: str
    target: str = ""
    verdict: str = ""  # "ok", "MISSED" or "" when there is no target

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def median(values: list[float]) -> float:
    return statistics.median(values)


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * pct / 100
    low, high = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def at_most(value: float, limit: float) -> str:
    return "ok" if value <= limit else "MISSED"


def table(figures: list[Figure]) -> str:
    rows = [("benchmark", "metric", "value", "target", "verdict")]
    for f in figures:
        shown = f"{f.value:.3f} {f.unit}" if abs(f.value) < 1000 else f"{f.value:,.0f} {f.unit}"
        rows.append((f.benchmark, f.metric, shown, f.target, f.verdict))
    widths = [max(len(str(r[i])) for r in rows) for i in range(5)]
    lines = []
    for n, row in enumerate(rows):
        lines.append("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)
