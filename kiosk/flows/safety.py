"""The battery-safety supervisor as a component: it watches every reading and acts before anyone else.

Every battery reading the cabinet takes, and every change of the smoke detector, is folded into the pure
rules of :mod:`kiosk.station.safety`. A level change is recorded at once (and an alarm or fire is handed to
``urgent``, which tells the hub in its own request). The outputs are then brought to what the state
demands, one action at a time in the rules' order, each recorded as started *before* the output is
touched and as done or failed after. A charger that cannot be switched off in a bay in alarm gets the
chargers' mains cut instead.

The supervisor outranks every flow: the cabinet asks it before any unlock (a bay in alarm or fire, or any
bay while the cabinet is in fire, stays shut), and shows such bays as faulted, so no swap picks them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import replace
from typing import Any, Protocol

from kiosk.core.clock import Clock
from kiosk.core.events import Event, EventRecord
from kiosk.core.hardware import SafetyIoConfig
from kiosk.core.safety_config import SafetyConfig
from kiosk.devices.air import AirReading
from kiosk.devices.base import BatteryReading
from kiosk.station.safety import (
    Action,
    ActionKind,
    BaySample,
    BayWatch,
    CabinetSample,
    Level,
    Outputs,
    SafetyState,
    Transition,
    apply_action,
    desired_outputs,
    plan_actions,
    reset_bay,
    reset_cabinet,
    step_bay,
    step_cabinet,
    transitions,
)
from kiosk.station.safety_events import SafetyAction, SafetyLevelChanged
from kiosk.station.safety_history import WINDOW_S, Point, keep

log = logging.getLogger(__name__)

RETRY_S = 1.0
"""How soon a failed action is tried again (s)."""


class SafetyCabinet(Protocol):
    """What the supervisor needs of the cabinet component."""

    def add_battery_listener(self, listener: Callable[[dict[int, BatteryReading]], None]) -> None:
        """Be called on the loop with every batch of battery readings."""
        ...

    def add_air_listener(self, listener: Callable[[AirReading], None]) -> None:
        """Be called on the loop with every reading of the cabinet's air sensor (never without one)."""
        ...

    def set_safety(self, guard: Callable[[int], str | None], reset: Callable[[int], str | None]) -> None:
        """Hand the cabinet the supervisor's unlock guard and its reset."""
        ...

    async def set_charger(self, bay: int, on: bool) -> None:
        """Switch a bay's charger (slot controller register); raises when the controller does not confirm."""
        ...


class SafetyPins:
    """The gpiozero devices of ``[hardware.safety]``: fan, mains contactor, extinguishers, smoke input."""

    def __init__(self, io: SafetyIoConfig, pin_factory: Any | None) -> None:
        from gpiozero import DigitalInputDevice, DigitalOutputDevice  # a Pi library, only when pins exist

        self.io = io
        made: list[Any] = []

        def output(pin: str | None, active_high: bool) -> Any | None:
            if pin is None:
                return None
            # initial_value False: fan off, mains contactor open, extinguisher not released.
            device = DigitalOutputDevice(pin, active_high=active_high, initial_value=False, pin_factory=pin_factory)
            made.append(device)
            return device

        try:
            self.fan = output(io.fan_pin, io.fan_active_high)
            self.mains = output(io.mains_pin, io.mains_active_high)
            self.extinguisher = output(io.extinguisher_pin, io.extinguisher_active_high)
            self.bay_extinguishers = {
                bay: output(pin, io.extinguisher_active_high) for bay, pin in io.bay_extinguisher_pins.items()
            }
            self.smoke = None
            if io.smoke_pin is not None:
                self.smoke = DigitalInputDevice(io.smoke_pin, pull_up=True, pin_factory=pin_factory)
                made.append(self.smoke)
        except Exception:
            for device in made:
                device.close()
            raise
        self._devices = made

    def smoke_seen(self) -> bool | None:
        """Whether the smoke contact is in alarm now (None without a detector)."""
        if self.smoke is None:
            return None
        high = bool(self.smoke.pin.state)
        return high == self.io.smoke_active_high

    def close(self) -> None:
        """Release every pin; the outputs' hardware pulls decide (fan off, mains open). Safe twice."""
        for device in self._devices:
            device.close()
        self._devices = []


class SafetySupervisor:
    """Watches every bay and the cabinet, and acts on the outputs; see the module docstring."""

    name = "safety"
    optional = False  # a station that cannot watch its batteries must not run unwatched

    def __init__(
        self,
        rules: SafetyConfig,
        io: SafetyIoConfig,
        *,
        clock: Clock,
        cabinet: SafetyCabinet,
        battery_bays: frozenset[int],
        record: Callable[[Event], EventRecord],
        urgent: Callable[[EventRecord], None] | None = None,
        pin_factory: Any | None = None,
        chemistry_of: Callable[[str | None], str | None] = lambda _pack: None,
    ) -> None:
        self.rules = rules
        self.chemistry_of = chemistry_of
        """A pack id's chemistry from the hub's battery registry (None: not known there, the configured default)."""
        self.io = io
        self.clock = clock
        self.cabinet = cabinet
        self.battery_bays = battery_bays
        self._record = record
        self._urgent = urgent
        self._pin_factory = pin_factory
        self.pins: SafetyPins | None = None
        self.state = SafetyState(bays={bay: BayWatch(bay=bay) for bay in sorted(battery_bays)})
        self.applied = Outputs(mains_cut=io.mains_pin is not None)
        """What the outputs are: the mains contactor starts open until the first readings are judged."""
        self._stuck: set[int] = set()
        """Bays whose charger did not switch off when told to."""
        self._unknown: frozenset[int] = frozenset()
        """Bays whose charger is not known yet: a slot controller keeps its charger register through the
        station's restart (a charger a swap held off when the station was killed is still off), so after the
        first readings each battery bay's charger is written once as the rules want it, on or off."""
        self._held: frozenset[int] = frozenset()
        """Bays whose charger the swap flow holds off (a return bay before its pack is accepted, a refused pack)."""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._judged = False
        self._actions_done = 0
        self._since: dict[int | None, str] = {}
        """When each bay (None: the cabinet) entered its current level above normal (wall clock, ISO)."""
        self._history: dict[int, tuple[Point, ...]] = {}
        """Each bay's readings of the last minutes, for the status page's chart."""
        self._smoke: bool | None = None
        self._air: CabinetSample | None = None
        """The cabinet temperature/humidity sensor's last answer (None: none fitted, or not yet read)."""
        self._air_error: str | None = None

    # --- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        """Claim the pins, listen to the cabinet, and begin acting."""
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        if not self.rules.enabled:
            log.warning("the battery-safety supervisor is turned off ([safety] enabled = false)")
            return
        if self.io.pins():
            self.pins = SafetyPins(self.io, self._pin_factory)
            if self.pins.smoke is not None:
                self.pins.smoke.when_activated = self._smoke_from_thread
                self.pins.smoke.when_deactivated = self._smoke_from_thread
        self.cabinet.set_safety(self.unlock_refusal, self.reset)
        self.cabinet.add_battery_listener(self.readings)
        self.cabinet.add_air_listener(lambda air: self.air(air.air_c, air.humidity_pct, air.error))
        self._task = asyncio.create_task(self._act(), name="safety-actions")
        self._sensors_changed()

    async def close(self) -> None:
        """Stop acting and release the pins (fan off, mains contactor open). Safe twice."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        pins, self.pins = self.pins, None
        if pins is not None:
            pins.close()

    # --- what comes in ----------------------------------------------------------------------------

    def _smoke_from_thread(self) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._sensors_changed)

    def _sensors_changed(self) -> None:
        self._smoke = self.pins.smoke_seen() if self.pins is not None else None
        self._judge(self._cabinet_sample())

    def _cabinet_sample(self) -> CabinetSample:
        air = self._air
        return CabinetSample(
            at=self.clock.monotonic(),
            smoke=self._smoke,
            air_c=air.air_c if air is not None else None,
            humidity_pct=air.humidity_pct if air is not None else None,
        )

    def air(self, air_c: float | None, humidity_pct: float | None, error: str | None = None) -> None:
        """The cabinet temperature/humidity sensor's reading (on the loop); ``error`` when it did not answer.

        A silent sensor is a warning on the status page, not a level: its last values are forgotten (the
        rules judge no air rather than stale air) and the bays' own sensors still count.
        """
        if not self.rules.enabled:
            return
        self._air_error = error
        now = self.clock.monotonic()
        self._air = None if error is not None else CabinetSample(at=now, air_c=air_c, humidity_pct=humidity_pct)
        self._judge(self._cabinet_sample())

    def readings(self, readings: dict[int, BatteryReading]) -> None:
        """A batch of battery readings from the cabinet (on the loop)."""
        now = self.clock.monotonic()
        bays = dict(self.state.bays)
        for bay, reading in readings.items():
            if bay in bays:
                sample = BaySample(at=now, reading=reading, chemistry=self.chemistry_of(reading.battery_id))
                bays[bay] = step_bay(bays[bay], sample, self.rules)
                if reading.error is None and reading.present:
                    point = Point(now, reading.temperature_c, reading.voltage_v, reading.current_a)
                    self._history[bay] = keep(self._history.get(bay, ()), point)
                elif reading.error is None:
                    self._history.pop(bay, None)  # the pack was taken out: a new one starts a new chart
        if not self._judged:
            self._unknown = frozenset(self.battery_bays)  # each charger written once after the first readings
        self._judged = True
        self._judge(None, bays)

    def _judge(self, sensors: CabinetSample | None, bays: dict[int, BayWatch] | None = None) -> None:
        before = self.state
        bays = dict(before.bays) if bays is None else bays
        cabinet = step_cabinet(before.cabinet, sensors, bays.values(), self.clock.monotonic(), self.rules)
        self.state = SafetyState(bays=bays, cabinet=cabinet)
        for change in transitions(before, self.state):
            self._tell(change)
        self._wake.set()

    def _tell(self, change: Transition, by: str | None = None) -> None:
        watch = self.state.bays.get(change.bay) if change.bay is not None else None
        temps = watch.temps if watch is not None else ()
        event = SafetyLevelChanged(
            bay=change.bay,
            before=change.before.word,
            after=change.after.word,
            reasons=sorted(change.reasons),
            temperature_c=temps[-1][1] if temps else None,
            by=by,
        )
        if change.after is Level.NORMAL:
            self._since.pop(change.bay, None)
        else:
            self._since[change.bay] = self.clock.wall().isoformat()
        where = f"bay {change.bay}" if change.bay is not None else "the cabinet"
        logger = log.error if change.after >= Level.ALARM else log.warning
        logger("safety: %s %s -> %s (%s)", where, change.before.word, change.after.word, ", ".join(event.reasons))
        stored = self._record(event)
        if change.after >= Level.ALARM and change.after > change.before and self._urgent is not None:
            try:
                self._urgent(stored)
            except Exception:  # the hub is told later with the batch; acting matters more
                log.exception("could not hand the safety alarm to the hub relay")

    # --- what goes out ----------------------------------------------------------------------------

    def desired(self) -> Outputs:
        """What the outputs must be now (before the first readings: everything off, mains open)."""
        if not self._judged:
            return Outputs(mains_cut=self.io.mains_pin is not None)
        want = desired_outputs(self.state, self.applied, self.rules)
        stuck_in_alarm = any(self.state.bays[bay].level >= Level.ALARM for bay in self._stuck)
        if stuck_in_alarm and self.io.mains_pin is not None:
            want = replace(want, mains_cut=True)
        held = self._held & self.battery_bays
        if held - want.charging_off:
            want = replace(want, charging_off=want.charging_off | held)
        if self.io.mains_pin is None:
            want = replace(want, mains_cut=False)
        if self.io.fan_pin is None:
            want = replace(want, fan=False)
        return want

    async def _act(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            if not await self._catch_up():
                assert self._loop is not None
                self._loop.call_later(RETRY_S, self._wake.set)

    async def _catch_up(self) -> bool:
        """Carry out what the outputs lack, in order; False when something failed (tried again later).

        A charger that does not switch off does not hold up the rest (a stuck charger in a bay in alarm
        is what cutting the mains is for); any other failure stops the round, so the order holds.
        """
        skipped: set[Action] = set()
        while True:
            pending = [a for a in plan_actions(self.applied, self.desired(), self._unknown) if a not in skipped]
            if not pending:
                return not skipped
            action = pending[0]
            if await self._carry_out(action):
                continue
            if action.kind is not ActionKind.CHARGER_OFF:
                return False
            skipped.add(action)

    async def _carry_out(self, action: Action) -> bool:
        self._record(SafetyAction(action=action.kind.value, bay=action.bay, phase="started"))
        try:
            await self._drive(action)
        except Exception as exc:
            message = f"{type(exc).__name__}: {exc}"
            log.error("safety: could not %s: %s", action.describe(), message)
            self._record(SafetyAction(action=action.kind.value, bay=action.bay, phase="failed", error=message))
            if action.kind is ActionKind.CHARGER_OFF and action.bay is not None:
                self._stuck.add(action.bay)
            return False
        if action.bay is not None:
            self._stuck.discard(action.bay)
        self.applied = apply_action(self.applied, action)
        if action.kind in (ActionKind.CHARGER_ON, ActionKind.CHARGER_OFF) and action.bay is not None:
            self._unknown = self._unknown - {action.bay}
        self._actions_done += 1
        self._record(SafetyAction(action=action.kind.value, bay=action.bay, phase="done"))
        return True

    async def _drive(self, action: Action) -> None:
        pins = self.pins
        match action.kind:
            case ActionKind.CHARGER_OFF | ActionKind.CHARGER_ON:
                assert action.bay is not None
                await self.cabinet.set_charger(action.bay, action.kind is ActionKind.CHARGER_ON)
            case ActionKind.FAN_ON | ActionKind.FAN_OFF:
                if pins is not None and pins.fan is not None:
                    pins.fan.value = action.kind is ActionKind.FAN_ON
            case ActionKind.MAINS_CUT | ActionKind.MAINS_RESTORE:
                if pins is not None and pins.mains is not None:
                    pins.mains.value = action.kind is ActionKind.MAINS_RESTORE
            case ActionKind.EXTINGUISH_BAY:
                device = pins.bay_extinguishers.get(action.bay or -1) if pins is not None else None
                await self._release(device)
            case ActionKind.EXTINGUISH_CABINET:
                await self._release(pins.extinguisher if pins is not None else None)

    async def _release(self, device: Any | None) -> None:
        if device is None:
            return  # nothing wired: the action is recorded, the cabinet's own protection must act
        device.on()
        try:
            await asyncio.sleep(self.io.extinguisher_pulse_s)
        finally:
            device.off()

    # --- what the rest of the station asks --------------------------------------------------------

    def unlock_refusal(self, bay: int) -> str | None:
        """Why ``bay`` must stay shut now, or None when it may be unlocked."""
        if self.state.cabinet.level is Level.FIRE:
            return "the cabinet is in a fire alarm: every bay stays shut"
        watch = self.state.bays.get(bay)
        if watch is not None and watch.level >= Level.ALARM:
            reasons = ", ".join(sorted(watch.reasons)) or "safety"
            return f"bay {bay} is in a safety {watch.level.word} ({reasons}): it stays shut"
        return None

    def swaps_allowed(self) -> bool:
        """New swaps start only while the cabinet is not in fire."""
        return self.state.swaps_allowed()

    def hold_chargers(self, bays: frozenset[int]) -> None:
        """Keep these bays' chargers off whatever their level (the swap flow's holds); others as the rules say.

        The swap flow has persisted why (its swap row, the bay out of service) before it calls this; each
        charger switched is recorded as a ``safety.action`` before the write, like every other action.
        """
        self._held = frozenset(bays)
        self._wake.set()

    def reset(self, bay: int | None, by: str | None = None) -> str | None:
        """Staff clear a latched alarm of ``bay`` and of the cabinet (``bay`` None: the cabinet only).

        Returns why not, or None. Each part clears only when its readings no longer call for an alarm;
        an extinguisher once released stays marked released (it must be refilled before it counts again).
        """
        before = self.state
        if bay is None and before.cabinet.level < Level.ALARM:
            return "the cabinet is not in alarm: there is nothing to clear"  # a replayed or stale request
        bays = dict(before.bays)
        watch = bays.get(bay) if bay is not None else None
        if watch is not None and watch.level >= Level.ALARM:
            cleared = reset_bay(watch)
            if cleared is None:
                return f"bay {bay} still reads {', '.join(sorted(watch.active))}: the alarm stays"
            bays[watch.bay] = cleared
        cabinet = before.cabinet
        if cabinet.level >= Level.ALARM:
            judged = step_cabinet(cabinet, None, bays.values(), self.clock.monotonic(), self.rules)
            cleared_cabinet = reset_cabinet(judged)
            if cleared_cabinet is None and bay is None:
                return f"the cabinet still reads {', '.join(sorted(judged.active))}: the alarm stays"
            cabinet = cleared_cabinet or judged
        self.state = SafetyState(bays=bays, cabinet=cabinet)
        for change in transitions(before, self.state):
            self._tell(change, by=by)
        self._wake.set()
        return None

    def get_status(self) -> dict[str, Any]:
        """Every bay's and the cabinet's level and reasons, the outputs, and warnings for the status page."""
        state = self.state
        bays = {
            str(bay): {
                "level": w.level.word,
                "reasons": sorted(w.reasons),
                "active": sorted(w.active),
                "since": self._since.get(bay),
                "history": [p.as_list() for p in self._history.get(bay, ())],
            }
            for bay, w in sorted(state.bays.items())
        }
        warnings = [
            f"bay {bay}: safety {w.level.word} ({', '.join(sorted(w.reasons))})"
            for bay, w in sorted(state.bays.items())
            if w.level >= Level.WATCH
        ]
        if state.cabinet.level >= Level.WATCH:
            reasons = ", ".join(sorted(state.cabinet.reasons))
            warnings.insert(0, f"cabinet: safety {state.cabinet.level.word} ({reasons})")
        warnings += [f"bay {bay}: the charger did not switch off" for bay in sorted(self._stuck)]
        if self._air_error is not None:
            warnings.append(f"cabinet temperature/humidity sensor: {self._air_error}")
        applied = self.applied
        air = self._air
        return {
            "enabled": self.rules.enabled,
            "level": state.worst().word,
            "cabinet": {
                "level": state.cabinet.level.word,
                "reasons": sorted(state.cabinet.reasons),
                "active": sorted(state.cabinet.active),
                "since": self._since.get(None),
                "air_c": air.air_c if air is not None else None,
                "humidity_pct": air.humidity_pct if air is not None else None,
                "air_sensor_error": self._air_error,
            },
            "bays": bays,
            "outputs": {
                "charging_off": sorted(applied.charging_off),
                "fan": applied.fan,
                "mains_cut": applied.mains_cut,
                "extinguished_bays": sorted(applied.extinguished_bays),
                "cabinet_extinguisher": applied.cabinet_extinguisher,
            },
            "swaps_allowed": state.swaps_allowed(),
            "chargers_held": sorted(self._held),
            "now_mono": round(self.clock.monotonic(), 1),
            "history_window_s": WINDOW_S,
            "calm_s": self.rules.calm_s,
            "limits": {"alarm_c": self.rules.alarm_c, "fire_c": self.rules.fire_c},
            "actions_done": self._actions_done,
            "warnings": warnings,
        }
