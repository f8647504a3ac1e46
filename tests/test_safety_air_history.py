"""The cabinet air rules (humidity, temperature) and the bays' chart history — pure, on times the test picks."""

from __future__ import annotations

import itertools

from kiosk.core.safety_config import SafetyConfig
from kiosk.station.safety import CabinetSample, CabinetWatch, Level, Reason, step_cabinet
from kiosk.station.safety_history import STEP_S, WINDOW_S, Point, keep

RULES = SafetyConfig()


def air(watch: CabinetWatch, at: float, *, air_c: float = 25.0, humidity_pct: float | None = None) -> CabinetWatch:
    return step_cabinet(watch, CabinetSample(at=at, air_c=air_c, humidity_pct=humidity_pct), [], at, RULES)


def test_humid_air_is_a_condensation_watch_that_clears_only_well_below_the_limit_after_a_calm_spell() -> None:
    watch = air(CabinetWatch(), 0, humidity_pct=84.9)
    assert watch.level is Level.NORMAL
    watch = air(watch, 1, humidity_pct=85.0)
    assert (watch.level, watch.reasons) == (Level.WATCH, frozenset({Reason.CONDENSATION}))
    watch = air(watch, 2, humidity_pct=82.0)  # under the limit but within its hysteresis: still humid
    assert Reason.CONDENSATION in watch.active
    watch = air(watch, 3, humidity_pct=79.0)
    assert watch.active == frozenset()
    assert watch.level is Level.WATCH  # a watch falls only after calm_s
    watch = air(watch, 3 + RULES.calm_s, humidity_pct=79.0)
    assert watch.level is Level.NORMAL


def test_warm_then_hot_cabinet_air_and_a_sensor_that_reports_no_humidity() -> None:
    watch = air(CabinetWatch(), 0, air_c=46.0)
    assert (watch.level, watch.reasons) == (Level.WATCH, frozenset({Reason.CABINET_WARM}))
    watch = air(watch, 1, air_c=60.0)
    assert watch.level is Level.ALARM
    assert Reason.CABINET_HOT in watch.reasons
    assert Reason.CONDENSATION not in watch.active


def test_the_chart_keeps_one_point_per_step_and_always_the_newest_reading() -> None:
    points: tuple[Point, ...] = ()
    for i in range(40):  # a reading every 0.5 s for 20 s
        points = keep(points, Point(i * 0.5, 30.0 + i * 0.1, 50.0, 5.0))
    times = [p.at for p in points]
    assert times == [0.0, 5.0, 10.0, 15.0, 19.5]
    assert points[-1].temperature_c == 30.0 + 39 * 0.1
    assert all(b - a >= STEP_S for a, b in itertools.pairwise(times[:-1]))


def test_the_chart_forgets_readings_older_than_its_window() -> None:
    points: tuple[Point, ...] = ()
    for i in range(100):
        points = keep(points, Point(i * STEP_S, 30.0, None, None))
    assert points[0].at >= points[-1].at - WINDOW_S
    assert len(points) == int(WINDOW_S / STEP_S) + 1
    assert points[-1].as_list() == [495.0, 30.0, None, None]
