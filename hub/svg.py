"""Charts as inline SVG, drawn on the server: no JavaScript, nothing fetched by the browser."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e")
"""Series colours, told apart by people with the common colour-vision deficiencies too."""


def _fmt(x: float) -> str:
    return f"{x:.1f}"


def line_chart(
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[int]]],
    *,
    title: str,
    width: int = 640,
    height: int = 200,
) -> str:
    """A line chart: one line per named series over ``labels`` (e.g. days), with a legend and a y scale."""
    left, right, top, bottom = 40, 10, 28, 30
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max([1, *(v for _, values in series for v in values)])
    n = max(1, len(labels) - 1)

    def x(i: int) -> float:
        return left + plot_w * i / n

    def y(v: float) -> float:
        return top + plot_h * (1 - v / peak)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img"'
        f' aria-label="{escape(title)}" class="chart">',
        f'<text x="{left}" y="16" font-size="13" font-weight="bold">{escape(title)}</text>',
        f'<line x1="{left}" y1="{y(0)}" x2="{width - right}" y2="{y(0)}" stroke="#999"/>',
        f'<text x="{left - 4}" y="{_fmt(y(peak) + 4)}" font-size="10" text-anchor="end">{peak}</text>',
        f'<text x="{left - 4}" y="{_fmt(y(0) + 4)}" font-size="10" text-anchor="end">0</text>',
    ]
    step = max(1, len(labels) // 7)
    for i, label in enumerate(labels):
        if i % step == 0 or i == len(labels) - 1:
            parts.append(
                f'<text x="{_fmt(x(i))}" y="{height - 10}" font-size="10" text-anchor="middle">{escape(label)}</text>'
            )
    for k, (name, values) in enumerate(series):
        colour = PALETTE[k % len(PALETTE)]
        points = " ".join(f"{_fmt(x(i))},{_fmt(y(v))}" for i, v in enumerate(values))
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{points}"/>')
        for i, v in enumerate(values[: len(labels)]):
            tip = f"{escape(name)} {escape(labels[i])}: {v}"
            parts.append(
                f'<circle cx="{_fmt(x(i))}" cy="{_fmt(y(v))}" r="2" fill="{colour}"><title>{tip}</title></circle>'
            )
        lx = left + 10 + k * 130
        parts.append(f'<rect x="{lx}" y="{top - 8}" width="10" height="3" fill="{colour}"/>')
        parts.append(f'<text x="{lx + 14}" y="{top - 4}" font-size="11">{escape(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def bar_chart(items: Sequence[tuple[str, int]], *, title: str, width: int = 640, bar: int = 18) -> str:
    """Horizontal bars, one per labelled value (e.g. charged batteries per station)."""
    left, top = 160, 28
    height = top + bar * max(1, len(items)) + 10
    peak = max([1, *(v for _, v in items)])
    plot_w = width - left - 50
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img"'
        f' aria-label="{escape(title)}" class="chart">',
        f'<text x="4" y="16" font-size="13" font-weight="bold">{escape(title)}</text>',
    ]
    for i, (label, value) in enumerate(items):
        y = top + i * bar
        w = plot_w * value / peak
        parts.append(f'<text x="{left - 6}" y="{y + bar - 6}" font-size="11" text-anchor="end">{escape(label)}</text>')
        parts.append(f'<rect x="{left}" y="{y + 2}" width="{_fmt(w)}" height="{bar - 4}" fill="{PALETTE[0]}"/>')
        parts.append(f'<text x="{_fmt(left + w + 4)}" y="{y + bar - 6}" font-size="11">{value}</text>')
    parts.append("</svg>")
    return "".join(parts)
