"""Property of the swap machine: every unlock follows a persisted intent; no charged bay opens twice."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.devices.base import BatteryReading
from kiosk.station.swap import (
    BatteryRead,
    DoorChanged,
    Persist,
    ReopenRequested,
    SwapInput,
    SwapRecord,
    SwapRequested,
    Tick,
    Unlock,
    UnlockFailed,
)
from tests.swap_machine_support import S, Station

# --- property: unlocks are always preceded by their intent ------------------------------------

BAYS = st.integers(min_value=1, max_value=5)
GOOD = BatteryReading(0, True, battery_id="AB00000099", soc_pct=10.0, temperature_c=30.0)
READINGS = st.sampled_from(
    [
        BatteryReading(0, False),
        GOOD,
        GOOD,
        BatteryReading(0, False),
        BatteryReading(0, True, battery_id="nope"),
        BatteryReading(0, True, battery_id="AB00000098", fault_flags=frozenset({"short"})),
        BatteryReading(0, False, error="timeout"),
    ]
)
# Bay 0 means "the bay the swap works on now", so sequences get deep into the flow, not stuck at the first door.
CURRENT_DOOR = st.builds(lambda o: ("door", 0, o), st.booleans())
CURRENT_READ = st.builds(lambda r: ("read", 0, r), READINGS)
STEPS = st.one_of(
    CURRENT_DOOR,
    CURRENT_DOOR,
    CURRENT_READ,
    CURRENT_READ,
    st.builds(lambda b, o: ("door", b, o), BAYS, st.booleans()),
    st.builds(lambda b, r: ("read", b, r), BAYS, READINGS),
    st.builds(lambda b: ("fail", b, None), st.one_of(st.just(0), BAYS)),
    st.just(("reopen", 0, None)),
    st.just(("request", 0, None)),
    st.builds(lambda d: ("tick", 0, d), st.floats(min_value=0.0, max_value=12.0)),
    st.builds(lambda d: ("tick", 0, d), st.floats(min_value=0.0, max_value=250.0)),
)


def _to_input(step: tuple[str, int, Any], now: float, n: int, current: SwapRecord | None) -> SwapInput:
    kind, bay, arg = step
    if bay == 0:
        bay = (current.current_bay if current is not None else None) or 1
    if kind == "door":
        return DoorChanged(bay, arg, now)
    if kind == "read":
        return BatteryRead(bay, replace(arg, bay=bay), now)
    if kind == "fail":
        return UnlockFailed(bay, "stuck", now)
    if kind == "reopen":
        return ReopenRequested(now)
    if kind == "request":
        return SwapRequested(f"swap-{n}", "rider", f"n{n}", now)
    return Tick(now)


def _natural(current: SwapRecord | None, reading: BatteryReading) -> tuple[str, int, Any]:
    """The input a cooperative rider and cabinet would give next."""
    if current is None:
        return ("request", 0, None)
    if current.state in (S.OPENING_RETURN, S.REJECTING_RETURN, S.OPENING_CHARGED):
        return ("door", 0, True)
    if current.state in (S.AWAIT_RETURN, S.AWAIT_TAKE_BACK, S.AWAIT_COLLECT):
        return ("door", 0, False)
    if current.state is S.RETURN_EMPTY:
        return ("reopen", 0, None)
    return ("read", 0, reading)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 9), STEPS, READINGS), max_size=60))
def test_every_unlock_follows_a_persisted_intent_and_no_charged_bay_opens_twice(steps: list[Any]) -> None:
    station = Station()
    now = 0.0
    charged_unlocks: dict[str, list[int]] = {}
    for n, (dice, random_step, reading) in enumerate(steps):
        current = station.machine.current
        step = _natural(current, reading) if dice < 6 else random_step
        now += step[2] if step[0] == "tick" else 0.5
        commands = station.machine.handle(_to_input(step, now, n, current))
        intent: SwapRecord | None = None
        for command in commands:
            if isinstance(command, Persist):
                intent = command.swap
            elif isinstance(command, Unlock):
                assert intent is not None, "an unlock without a persisted intent"
                assert intent.current_bay == command.bay
                assert intent.state in (S.OPENING_RETURN, S.REJECTING_RETURN, S.OPENING_CHARGED)
                if intent.state is S.OPENING_CHARGED:
                    seen = charged_unlocks.setdefault(intent.swap_id, [])
                    assert command.bay not in seen, "the same charged bay unlocked twice in one swap"
                    seen.append(command.bay)
