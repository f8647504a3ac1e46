"""The status page's battery-safety parts: the banner every page shows, and each bay's readings as a chart.

Pure functions of ``/api/status`` (``components.safety``, see :mod:`kiosk.flows.safety`). The banner is
always on the page as a live section, empty at ``normal``, so it appears and goes without a reload. The
charts are inline SVG drawn here: no script, every text escaped, and they scale to the phone's width.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from kiosk.api.web.render import View, action, h, local_time, station_zone

LEVELS = ("normal", "watch", "alarm", "fire")
HEADLINES = {
    "watch": "Safety watch",
    "alarm": "Safety ALARM",
    "fire": "FIRE ALARM — keep everyone away from the cabinet",
}
MEANING = {
    "watch": "Something is off but not dangerous yet. The station stopped charging the bays named below.",
    "alarm": "A pack or the cabinet is dangerous. The bays named below stay shut, for riders and for staff.",
    "fire": "A pack is burning or about to, or the smoke detector is in alarm. No bay opens and no swap starts. "
    "Call 119 if there is smoke or flame; do not open the cabinet.",
}
CHART_W, CHART_H = 320, 120
"""The charts' drawing size (SVG units; the picture scales to the page's width)."""
_PAD_L, _PAD_R, _PAD_T, _PAD_B = 40, 8, 10, 20


def safety_part(status: Mapping[str, Any]) -> Mapping[str, Any]:
    """``components.safety`` of a status (empty when the supervisor does not report)."""
    part = (status.get("components") or {}).get("safety")
    return part if isinstance(part, Mapping) else {}


def _level(value: object) -> str:
    return value if isinstance(value, str) and value in LEVELS else "normal"


def _since(value: object, zone: ZoneInfo) -> str:
    if not value:
        return ""
    local, utc = local_time(value, zone)
    return f' since <time datetime="{h(value)}" title="{h(utc)}">{h(local)}</time>'


def _reasons(reasons: object) -> str:
    words = [str(r).replace("_", " ") for r in reasons] if isinstance(reasons, list) else []
    return h(", ".join(words)) if words else "—"


def _numbers(values: object) -> list[int]:
    return [int(v) for v in values if isinstance(v, int)] if isinstance(values, list) else []


def what_was_done(outputs: Mapping[str, Any], swaps_allowed: object) -> list[str]:
    """The protective actions in force, in plain words (the order the station takes them)."""
    done = []
    off = _numbers(outputs.get("charging_off"))
    if off:
        done.append(f"charger off in bay{'s' if len(off) > 1 else ''} {', '.join(map(str, off))}")
    if outputs.get("fan"):
        done.append("cabinet fan on")
    released = _numbers(outputs.get("extinguished_bays"))
    if released:
        done.append(f"extinguisher released in bay{'s' if len(released) > 1 else ''} {', '.join(map(str, released))}")
    if outputs.get("cabinet_extinguisher"):
        done.append("cabinet extinguisher released")
    if outputs.get("mains_cut"):
        done.append("chargers' mains cut")
    if swaps_allowed is False:
        done.append("new swaps refused")
    return done


def banner(status: Mapping[str, Any], view: View) -> str:
    """The safety banner: colour and words by level, which bays since when, what the station did, how to reset."""
    part = safety_part(status)
    level = _level(part.get("level"))
    if level == "normal":
        return '<section data-live id="safety-banner"></section>'
    zone = station_zone(status)
    cabinet: Mapping[str, Any] = part.get("cabinet") or {}
    bays: Mapping[str, Any] = part.get("bays") or {}
    rows = []
    cabinet_level = _level(cabinet.get("level"))
    if cabinet_level != "normal":
        rows.append(
            f'<li data-safety="cabinet"><b>Cabinet: {h(cabinet_level)}</b> ({_reasons(cabinet.get("reasons"))})'
            f"{_since(cabinet.get('since'), zone)}</li>"
        )
    for key, bay in sorted(bays.items(), key=lambda kv: int(kv[0]) if str(kv[0]).isdigit() else 0):
        bay_level = _level(bay.get("level")) if isinstance(bay, Mapping) else "normal"
        if bay_level == "normal":
            continue
        rows.append(
            f'<li data-safety="bay-{h(key)}"><b>Bay {h(key)}: {h(bay_level)}</b> ({_reasons(bay.get("reasons"))})'
            f"{_since(bay.get('since'), zone)}</li>"
        )
    done = what_was_done(part.get("outputs") or {}, part.get("swaps_allowed"))
    done_html = h("; ".join(done)) + "." if done else "nothing yet."
    calm = part.get("calm_s")
    if level == "watch":
        reset = (
            "A watch clears by itself once the readings have been calm for "
            f"{h(round(calm) if isinstance(calm, int | float) else 'a while')} s; charging then resumes."
        )
    else:
        reset = (
            "An alarm or a fire stays until staff clear it: once someone has looked at the pack and it is safe, "
            "use <b>Clear fault</b> on the bay (Devices). It is refused while the readings still call for an alarm. "
            "A released extinguisher must be refilled before it counts again."
        )
    button = ""
    if cabinet_level in ("alarm", "fire"):
        button = action(
            view, "/actions/safety/reset", "Clear the cabinet's alarm", danger=True, test_id="safety-reset-cabinet"
        )
    return (
        f'<section data-live id="safety-banner" class="safety-banner {level}" role="alert" data-level="{level}">'
        f"<h2>{h(HEADLINES[level])}</h2><p>{h(MEANING[level])}</p><ul>{''.join(rows)}</ul>"
        f"<p><b>The station did:</b> {done_html}</p><p>{reset}</p>"
        f'<div class="actions">{button}</div></section>'
    )


# --- charts --------------------------------------------------------------------------------------------

Series = Sequence[tuple[float, float]]
"""(seconds before now, value) pairs, oldest first."""


def series(history: object, now_mono: float, column: int) -> list[tuple[float, float]]:
    """One quantity from a bay's ``history`` rows ``[at, °C, V, A]``: (seconds before now, value)."""
    out: list[tuple[float, float]] = []
    if not isinstance(history, list):
        return out
    for row in history:
        if not isinstance(row, list) or len(row) <= column:
            continue
        at, value = row[0], row[column]
        numbers = isinstance(at, int | float) and isinstance(value, int | float) and not isinstance(value, bool)
        if numbers and math.isfinite(at) and math.isfinite(value):  # a NaN or infinity has no place on a chart
            out.append((max(0.0, now_mono - float(at)), float(value)))
    return out


def _fmt(value: float) -> str:
    return f"{value:.1f}" if abs(value) < 100 else f"{value:.0f}"


def chart(title: str, unit: str, points: Series, *, window_s: float, limit: float | None = None, test: str = "") -> str:
    """A line chart of ``points`` over the last ``window_s`` seconds (now at the right), as inline SVG."""
    if not points:
        return ""
    values = [v for _, v in points] + ([limit] if limit is not None else [])
    low, high = min(values), max(values)
    if high - low < 2.0:  # a flat line still gets a scale of a few units
        low, high = low - 1.0, high + 1.0
    plot_w, plot_h = CHART_W - _PAD_L - _PAD_R, CHART_H - _PAD_T - _PAD_B
    span = max(window_s, max(ago for ago, _ in points), 1.0)

    def x(ago: float) -> float:
        return _PAD_L + plot_w * (1 - ago / span)

    def y(value: float) -> float:
        return _PAD_T + plot_h * (high - value) / (high - low)

    line = " ".join(f"{x(ago):.1f},{y(v):.1f}" for ago, v in points)
    newest = points[-1][1]
    limit_svg = ""
    if limit is not None:
        limit_svg = (
            f'<line class="limit" x1="{_PAD_L}" x2="{CHART_W - _PAD_R}" y1="{y(limit):.1f}" y2="{y(limit):.1f}"/>'
            f'<text x="{CHART_W - _PAD_R}" y="{y(limit) - 2:.1f}" text-anchor="end">alarm {h(_fmt(limit))}</text>'
        )
    minutes = round(span / 60)
    label = f"{title}: now {_fmt(newest)} {unit}"
    test_attr = f' data-test="{h(test)}"' if test else ""
    return (
        f'<figure class="chart"{test_attr}>'
        f'<svg viewBox="0 0 {CHART_W} {CHART_H}" role="img" aria-label="{h(label)}">'
        f'<rect class="plot" x="{_PAD_L}" y="{_PAD_T}" width="{plot_w}" height="{plot_h}"/>'
        f'<text x="{_PAD_L - 4}" y="{_PAD_T + 8}" text-anchor="end">{h(_fmt(high))}</text>'
        f'<text x="{_PAD_L - 4}" y="{_PAD_T + plot_h}" text-anchor="end">{h(_fmt(low))}</text>'
        f'<text x="{_PAD_L}" y="{CHART_H - 4}">−{minutes} min</text>'
        f'<text x="{CHART_W - _PAD_R}" y="{CHART_H - 4}" text-anchor="end">now</text>'
        f'{limit_svg}<polyline points="{line}" data-points="{len(points)}"/></svg>'
        f"<figcaption>{h(label)}</figcaption></figure>"
    )


def bay_charts(status: Mapping[str, Any], view: View) -> str:
    """Each battery bay's last minutes of readings: temperature, and voltage and current where reported.

    A bay above ``normal`` is open; the others are folded (a phone shows a dozen charts only on request).
    """
    part = safety_part(status)
    bays: Mapping[str, Any] = part.get("bays") or {}
    now = part.get("now_mono")
    now_mono = float(now) if isinstance(now, int | float) else view.now_mono
    window = part.get("history_window_s")
    window_s = float(window) if isinstance(window, int | float) else 300.0
    limits: Mapping[str, Any] = part.get("limits") or {}
    alarm_c = limits.get("alarm_c") if isinstance(limits.get("alarm_c"), int | float) else None
    blocks = []
    for key, bay in sorted(bays.items(), key=lambda kv: int(kv[0]) if str(kv[0]).isdigit() else 0):
        if not isinstance(bay, Mapping):
            continue
        history = bay.get("history")
        temps = series(history, now_mono, 1)
        if not temps:
            continue
        parts = [
            ("Temperature", "°C", temps, alarm_c),
            ("Voltage", "V", series(history, now_mono, 2), None),
            ("Current", "A", series(history, now_mono, 3), None),
        ]
        drawn = "".join(
            chart(title, unit, points, window_s=window_s, limit=limit, test=f"chart-{key}-{title.lower()}")
            for title, unit, points, limit in parts
        )
        level = _level(bay.get("level"))
        opened = " open" if level != "normal" else ""
        blocks.append(
            f'<details id="chart-bay-{h(key)}" class="bay-chart {level}"{opened}>'
            f"<summary>Bay {h(key)} — {h(_fmt(temps[-1][1]))} °C, {h(level)}</summary>"
            f'<div class="charts">{drawn}</div></details>'
        )
    body = "".join(blocks) if blocks else "<p>No battery readings yet.</p>"
    return f'<section data-live id="safety-charts"><h2>Battery readings (last minutes)</h2>{body}</section>'
