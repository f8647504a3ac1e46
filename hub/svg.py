"""Charts as inline SVG, drawn on the server: no JavaScript, nothing fetched by the browser.

Each chart has a ``viewBox`` and shrinks with its container (``svg.chart{max-width:100%}`` in the pages'
style), so a 640-unit chart fits a phone without scrolling sideways.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e")
"""Series colours, told apart by people with the common colour-vision deficiencies too."""
CHAR_W = 6.5
"""Rough width of one character at the legend's 11 px (to place the next legend entry)."""


def _fmt(x: float) -> str:
    return f"{x:.1f}"


def nice_ticks(peak: float, most: int = 5) -> list[int]:
    """Round y-axis ticks from 0 to at least ``peak``: steps of 1, 2 or 5 × 10^k, at most ``most`` + 1 ticks.

    ``nice_ticks(37)`` → ``[0, 10, 20, 30, 40]``; ``nice_ticks(0)`` → ``[0, 1]``.
    """
    peak = max(1.0, float(peak))
    raw = peak / max(1, most)
    power = 10 ** math.floor(math.log10(raw)) if raw >= 1 else 1
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    step = max(1, int(step))
    top = math.ceil(peak / step) * step
    return list(range(0, top + 1, step))


def _open(width: int, height: int, title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}"'
        f' preserveAspectRatio="xMinYMin meet" role="img" aria-label="{escape(title)}" class="chart">'
    )


def _title(title: str) -> str:
    return f'<text x="4" y="16" font-size="13" font-weight="bold">{escape(title)}</text>'


def line_chart(
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[int]]],
    *,
    title: str,
    width: int = 640,
    height: int = 220,
) -> str:
    """A line chart: one line per named series over ``labels`` (e.g. days), with a legend and a y scale.

    The title has its own line and the legend the next one (wrapping when long), both above the plot;
    the first and last x labels are anchored inside the chart so neither is cut off.
    """
    left, right, bottom = 40, 12, 30
    legend_rows: list[list[tuple[int, str, float]]] = [[]]
    lx = float(left)
    for k, (name, _) in enumerate(series):
        entry_w = 14 + CHAR_W * len(name) + 16
        if legend_rows[-1] and lx + entry_w > width - right:
            legend_rows.append([])
            lx = float(left)
        legend_rows[-1].append((k, name, lx))
        lx += entry_w
    top = 24 + 16 * len(legend_rows) + 8
    plot_w, plot_h = width - left - right, height - top - bottom
    ticks = nice_ticks(max([0, *(v for _, values in series for v in values)]), 4)
    peak = ticks[-1]
    n = max(1, len(labels) - 1)

    def x(i: int) -> float:
        return left + plot_w * i / n

    def y(v: float) -> float:
        return top + plot_h * (1 - v / peak)

    parts = [_open(width, height, title), _title(title)]
    for row_i, row in enumerate(legend_rows):
        ly = 24 + 16 * row_i + 8
        for k, name, at in row:
            colour = PALETTE[k % len(PALETTE)]
            parts.append(f'<rect x="{_fmt(at)}" y="{ly - 4}" width="10" height="3" fill="{colour}"/>')
            parts.append(f'<text x="{_fmt(at + 14)}" y="{ly}" font-size="11">{escape(name)}</text>')
    for tick in ticks:
        colour = "#999" if tick == 0 else "#e3e3e3"
        tick_y = _fmt(y(tick))
        parts.append(f'<line x1="{left}" y1="{tick_y}" x2="{width - right}" y2="{tick_y}" stroke="{colour}"/>')
        parts.append(f'<text x="{left - 4}" y="{_fmt(y(tick) + 4)}" font-size="10" text-anchor="end">{tick}</text>')
    step = max(1, math.ceil(len(labels) / 7))
    last = len(labels) - 1
    for i, label in enumerate(labels):
        # The last label always shows; a regular one too close before it is left out so they never overlap.
        if i == last or (i % step == 0 and last - i >= step):
            anchor = "start" if i == 0 and last > 0 else "end" if i == last and last > 0 else "middle"
            parts.append(
                f'<text x="{_fmt(x(i))}" y="{height - 10}" font-size="10" text-anchor="{anchor}">{escape(label)}</text>'
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
    parts.append("</svg>")
    return "".join(parts)


def bar_chart(items: Sequence[tuple[str, int]], *, title: str, width: int = 640, bar: int = 18) -> str:
    """Horizontal bars, one per labelled value (e.g. charged batteries per station)."""
    left, top = 160, 28
    height = top + bar * max(1, len(items)) + 10
    peak = max([1, *(v for _, v in items)])
    plot_w = width - left - 50
    parts = [_open(width, height, title), _title(title)]
    for i, (label, value) in enumerate(items):
        y = top + i * bar
        w = plot_w * value / peak
        parts.append(f'<text x="{left - 6}" y="{y + bar - 6}" font-size="11" text-anchor="end">{escape(label)}</text>')
        parts.append(f'<rect x="{left}" y="{y + 2}" width="{_fmt(w)}" height="{bar - 4}" fill="{PALETTE[0]}"/>')
        parts.append(f'<text x="{_fmt(left + w + 4)}" y="{y + bar - 6}" font-size="11">{value}</text>')
    parts.append("</svg>")
    return "".join(parts)
