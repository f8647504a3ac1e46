"""A NaN or infinite number a station's event body holds (a sensor's garbage, a division by zero) is written
as null: JSON has neither, and the hub refuses a batch carrying one (tests/hub/test_attack_batteries.py)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from kiosk.core.clock import FakeClock
from kiosk.core.events import non_finite_at
from kiosk.devices.events import BatteryChanged
from kiosk.store import Store


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_a_non_finite_number_in_an_event_is_stored_and_sent_as_null(tmp_path: Path, value: float) -> None:
    store = Store.open(tmp_path / "station.db", station_id="st-a", clock=FakeClock(), boot_id="boot-1")
    try:
        record = store.append(BatteryChanged(bay=1, present=True, battery_id="SH0000001", soc_pct=value))
        (sent,) = store.unsynced(10)
    finally:
        store.close()
    assert record.payload["soc_pct"] is None
    assert sent.payload["soc_pct"] is None
    assert non_finite_at(sent.payload) is None
    json.loads(json.dumps(sent.payload, allow_nan=False))


def test_where_a_non_finite_number_hides_is_named() -> None:
    assert non_finite_at({"packs": [{"soh_pct": 90.0}, {"temperatures_c": [1.0, math.nan]}]}) == (
        "packs[1].temperatures_c[1]"
    )
    assert non_finite_at({"a": [[[[-math.inf]]]]}) == "a[0][0][0][0]"
    assert non_finite_at({"a": 1e308, "b": "NaN", "c": None, "d": True}) is None
