"""Small charts drawn as SVG on the server (no chart library, no script)."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape


@dataclass(frozen=True)
class Bar:
    """One bar: a label and a fraction from 0 to 1, with the text shown beside it."""

    label: str
    fraction: float
    text: str


def bar_chart(bars: list[Bar], *, title: str, width: int = 560, row: int = 28) -> str:
    """A horizontal bar chart as an accessible SVG element (``role="img"``, a title)."""
    label_width = 180
    text_width = 110
    track = max(40, width - label_width - text_width)
    height = max(row, row * len(bars)) + 8
    parts = [
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'role="img" aria-labelledby="chart-title"><title id="chart-title">{escape(title)}</title>'
    ]
    if not bars:
        parts.append(f'<text x="0" y="{row - 8}" class="chart-empty">nothing to show</text>')
    for i, bar in enumerate(bars):
        fraction = min(1.0, max(0.0, bar.fraction))
        y = i * row + 4
        level = "high" if fraction >= 0.9 else "mid" if fraction >= 0.7 else "low"
        parts.append(
            f'<text x="0" y="{y + row - 12}" class="chart-label">{escape(bar.label)}</text>'
            f'<rect x="{label_width}" y="{y + 4}" width="{track}" height="{row - 10}" '
            f'class="chart-track"/>'
            f'<rect x="{label_width}" y="{y + 4}" width="{round(track * fraction, 1)}" '
            f'height="{row - 10}" class="chart-bar chart-{level}"/>'
            f'<text x="{label_width + track + 8}" y="{y + row - 12}" class="chart-text">'
            f"{escape(bar.text)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)
