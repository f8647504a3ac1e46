"""``/metrics``: the station's status in the Prometheus text exposition format (version 0.0.4).

Written by hand from the same status dict ``/api/status`` serves (no client library): a handful of
gauges a fleet monitor alerts on. Every figure that a status does not carry is simply left out, so a
station with no slot controllers or no sync shows fewer lines, never a made-up zero.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from kiosk.station.swap_record import SwapOutcome

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
DOOR_STATES = ("open", "closed", "unknown")


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value)) if not float(value).is_integer() else str(int(value))


class _Writer:
    """Collects metric families: one HELP and TYPE line each, then its samples."""

    def __init__(self, station_id: str) -> None:
        self.lines: list[str] = []
        self.station = _escape(station_id)

    def family(self, name: str, kind: str, help_text: str, samples: Iterable[tuple[dict[str, str], float]]) -> None:
        rows = list(samples)
        if not rows:
            return
        self.lines.append(f"# HELP {name} {help_text}")
        self.lines.append(f"# TYPE {name} {kind}")
        for labels, value in rows:
            pairs = [f'station="{self.station}"'] + [f'{k}="{_escape(v)}"' for k, v in labels.items()]
            self.lines.append(f"{name}{{{','.join(pairs)}}} {_number(value)}")

    def gauge(self, name: str, help_text: str, value: float | None) -> None:
        if value is not None:
            self.family(name, "gauge", help_text, [({}, value)])


def render_metrics(status: Mapping[str, Any], swap_outcomes: Mapping[str, int] | None = None) -> str:
    """The exposition text for one status snapshot (and the swap counts by outcome, when known)."""
    out = _Writer(str(status.get("station_id", "")))
    components: Mapping[str, Any] = status.get("components") or {}
    out.gauge("kiosk_up", "1 while kiosk-core serves its API.", 1)
    out.gauge("kiosk_uptime_seconds", "Seconds since kiosk-core started.", float(status.get("uptime_s") or 0))
    out.gauge("kiosk_wall_clock_synced", "1 when the wall clock is synchronised.", int(bool(status.get("wall_synced"))))
    out.gauge("kiosk_warnings", "How many warnings the station shows now.", len(status.get("warnings") or []))
    out.family(
        "kiosk_component_running",
        "gauge",
        "1 when the component runs, 0 when it failed or stopped.",
        [({"component": name}, int(c.get("state") == "running")) for name, c in sorted(components.items())],
    )

    cabinet: Mapping[str, Any] = components.get("cabinet") or {}
    bays: Mapping[str, Any] = cabinet.get("bays") or {}
    station: Mapping[str, Any] = components.get("station") or {}
    if bays:
        doors = {state: 0 for state in DOOR_STATES}
        for bay in bays.values():
            door = str(bay.get("door"))
            doors[door if door in doors else "unknown"] += 1
        out.family("kiosk_bays_door", "gauge", "Bays by door state.", [({"door": d}, n) for d, n in doors.items()])
        out.gauge("kiosk_bays", "Bays in the cabinet.", len(bays))
        out.gauge("kiosk_bays_faulted", "Bays with a fault.", sum(1 for b in bays.values() if b.get("fault")))
        present = sum(1 for b in bays.values() if (b.get("battery") or {}).get("present") or b.get("presence"))
        out.gauge("kiosk_bays_with_battery", "Bays holding a battery.", present)
    if "out_of_service" in station:
        out.gauge("kiosk_bays_out_of_service", "Bays taken out of service.", len(station["out_of_service"] or {}))
    if station.get("charged_batteries") is not None:
        out.gauge("kiosk_batteries_charged", "Batteries the station could hand out now.", station["charged_batteries"])
    if station:
        out.gauge("kiosk_swap_in_progress", "1 while a swap is under way.", int(station.get("swap") is not None))
    if swap_outcomes is not None:
        counts = {o.value: 0 for o in SwapOutcome} | dict(swap_outcomes)
        out.family(
            "kiosk_swaps_total",
            "counter",
            "Swaps that ended, by outcome.",
            [({"outcome": k}, v) for k, v in sorted(counts.items())],
        )

    store: Mapping[str, Any] = status.get("store") or {}
    sync: Mapping[str, Any] = status.get("sync") or {}
    if store.get("events_total") is not None:
        out.gauge("kiosk_events_stored", "Events in the station database.", store["events_total"])
    if sync.get("backlog") is not None:
        out.gauge("kiosk_sync_backlog_events", "Events not yet acknowledged by the hub.", sync["backlog"])
    if sync.get("oldest_unsynced_age_s") is not None:
        out.gauge(
            "kiosk_sync_oldest_unsynced_age_seconds", "Age of the oldest unsynced event.", sync["oldest_unsynced_age_s"]
        )
    if "last_error" in sync:
        out.gauge("kiosk_sync_failing", "1 when the last sync round failed.", int(bool(sync.get("last_error"))))
    return "\n".join(out.lines) + "\n"
