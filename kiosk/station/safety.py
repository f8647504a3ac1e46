"""Battery safety: what each bay's readings and the cabinet's sensors say, and what must be done — pure.

Each bay and the cabinet have a :class:`Level`: ``NORMAL → WATCH → ALARM → FIRE``. A level rises at once
when a reading calls for it; it falls only when the readings have been calm for ``calm_s`` (WATCH), or when
a member of staff resets it and nothing calls for it any more (ALARM and FIRE latch: a pack that reached an
alarm is suspect until someone has looked at it). Temperature limits that caused a level clear only
``hysteresis_c`` below the limit, so a pack sitting at a limit does not flap.

:func:`step_bay` and :func:`step_cabinet` fold a new sample into the state; :func:`desired_outputs` says
what the outputs must be for a state, and :func:`plan_actions` the ordered actions that take the applied
outputs there (charging off first, mains last). The component that owns the outputs persists each action
before it is carried out. Nothing here reads a clock: every time is the caller's monotonic seconds.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import TypeVar

from kiosk.core.safety_config import SafetyConfig
from kiosk.devices.base import BatteryReading


class Level(enum.IntEnum):
    """How worried the station is about a bay or the cabinet; ordered, so ``max`` is the worst."""

    NORMAL = 0
    WATCH = 1
    ALARM = 2
    FIRE = 3

    @property
    def word(self) -> str:
        """The level's lower-case name, as events and the status page say it."""
        return self.name.lower()


LATCHING: frozenset[Level] = frozenset({Level.ALARM, Level.FIRE})
"""Levels that stay until staff reset them."""


class Reason(enum.StrEnum):
    """Why a bay or the cabinet is above normal."""

    FIRE_TEMPERATURE = "fire_temperature"
    THERMAL_RUNAWAY = "thermal_runaway"
    ALARM_TEMPERATURE = "alarm_temperature"
    RISE_ALARM = "rise_alarm"
    RISE_WATCH = "rise_watch"
    TOO_HOT_TO_CHARGE = "too_hot_to_charge"
    TOO_COLD_TO_CHARGE = "too_cold_to_charge"
    STORAGE_HOT = "storage_hot"
    OVER_VOLTAGE = "over_voltage"
    UNDER_VOLTAGE = "under_voltage"
    OVER_CURRENT = "over_current"
    CELL_IMBALANCE_ALARM = "cell_imbalance_alarm"
    CELL_IMBALANCE_WATCH = "cell_imbalance_watch"
    BMS_FAULT = "bms_fault"
    BMS_SILENT = "bms_silent"
    SMOKE = "smoke"
    CABINET_HOT = "cabinet_hot"
    CABINET_WARM = "cabinet_warm"
    CONDENSATION = "condensation"
    BAY_FIRE = "bay_fire"
    BAY_ALARM = "bay_alarm"


FLAG_LEVELS: Mapping[str, Level] = {
    "over_temperature": Level.ALARM,
    "short_circuit": Level.ALARM,
    "over_current": Level.ALARM,
    "over_voltage": Level.ALARM,
    "under_voltage": Level.WATCH,
    "bms_comms_lost": Level.WATCH,
}
"""What each BMS fault flag means for the bay; an unknown flag is watched."""


@dataclass(frozen=True)
class BaySample:
    """One poll of a bay's slot controller, at the caller's monotonic time ``at``."""

    at: float
    reading: BatteryReading
    cells_mv: tuple[float, ...] = ()
    """Cell voltages, where the register map offers them."""
    chemistry: str | None = None
    """The pack's chemistry from the battery registry; None: the configured default."""


@dataclass(frozen=True)
class CabinetSample:
    """The cabinet's own sensors at ``at``; None where a sensor is not fitted or did not answer."""

    at: float
    smoke: bool | None = None
    air_c: float | None = None
    humidity_pct: float | None = None


@dataclass(frozen=True)
class BayWatch:
    """What the supervisor remembers of one bay."""

    bay: int
    level: Level = Level.NORMAL
    reasons: frozenset[Reason] = frozenset()
    """The reasons behind ``level`` as last decided (kept while a latched level lasts)."""
    active: frozenset[Reason] = frozenset()
    """The reasons the newest sample calls for (what a reset would leave)."""
    active_level: Level = Level.NORMAL
    """The level the newest sample calls for."""
    temps: tuple[tuple[float, float], ...] = ()
    """(time, °C) of recent readings, oldest first, pruned to the rise window."""
    last_answer_at: float | None = None
    charging: bool = False
    """The charger was charging at the last answered reading (or we stopped it for a hot pack)."""
    calm_since: float | None = None
    """Since when nothing has called for the current level (None while something does)."""


@dataclass(frozen=True)
class CabinetWatch:
    """What the supervisor remembers of the cabinet as a whole."""

    level: Level = Level.NORMAL
    reasons: frozenset[Reason] = frozenset()
    active: frozenset[Reason] = frozenset()
    active_level: Level = Level.NORMAL
    calm_since: float | None = None
    sensors: CabinetSample | None = None


@dataclass(frozen=True)
class Outputs:
    """What the cabinet's safety outputs are (applied) or must be (desired)."""

    charging_off: frozenset[int] = frozenset()
    """Bays whose charger must be disabled."""
    fan: bool = False
    extinguished_bays: frozenset[int] = frozenset()
    """Bays whose extinguisher has been (must be) triggered; once triggered, it stays so."""
    cabinet_extinguisher: bool = False
    mains_cut: bool = False
    """The chargers' mains relay is open."""


class ActionKind(enum.StrEnum):
    """The things the supervisor does to the cabinet, in the order it does them."""

    CHARGER_OFF = "charger_off"
    FAN_ON = "fan_on"
    EXTINGUISH_BAY = "extinguish_bay"
    EXTINGUISH_CABINET = "extinguish_cabinet"
    MAINS_CUT = "mains_cut"
    MAINS_RESTORE = "mains_restore"
    FAN_OFF = "fan_off"
    CHARGER_ON = "charger_on"


@dataclass(frozen=True)
class Action:
    """One action on an output; ``bay`` for the per-bay ones."""

    kind: ActionKind
    bay: int | None = None

    def describe(self) -> str:
        """Plain words for the log and the event."""
        return self.kind.value.replace("_", " ") + (f" (bay {self.bay})" if self.bay is not None else "")


@dataclass(frozen=True)
class Transition:
    """A level change of a bay (``bay`` set) or of the cabinet, with the reasons now in force."""

    bay: int | None
    before: Level
    after: Level
    reasons: frozenset[Reason]


# --- bays ------------------------------------------------------------------------------------------


def _rise_per_min(temps: tuple[tuple[float, float], ...], rules: SafetyConfig, resolution_c: float) -> float:
    """The temperature rise over the window (°C/min), from the oldest reading in it; 0 when too short.

    A rise no bigger than one step of the sensor's resolution is no rise: BMS temperatures are often
    whole degrees, and one step over a short span would read as a steep climb.
    """
    if len(temps) < 2:
        return 0.0
    (t0, c0), (t1, c1) = temps[0], temps[-1]
    span = t1 - t0
    if span < rules.rise_window_s / 2 or c1 - c0 <= resolution_c:
        return 0.0
    return (c1 - c0) / span * 60.0


def _runaway(temps: tuple[tuple[float, float], ...], rules: SafetyConfig) -> bool:
    """GB 38031's criterion: a rise of ``runaway_c_per_s`` held for ``runaway_hold_s``.

    "Held" is checked on both halves of the span, so one jump of a glitching sensor followed by a flat
    line is not a runaway, while whole-degree readings of a steady climb still are.
    """
    if len(temps) < 3:
        return False
    t_now, c_now = temps[-1]
    start = [(t, c) for t, c in temps if t <= t_now - rules.runaway_hold_s]
    if not start:
        return False
    t0, c0 = start[-1]
    t_mid, c_mid = [(t, c) for t, c in temps if t <= t0 + (t_now - t0) / 2][-1]
    rate = rules.runaway_c_per_s
    return (
        c_now - c0 >= rate * (t_now - t0)
        and c_mid - c0 >= rate * (t_mid - t0) / 2
        and c_now - c_mid >= rate * (t_now - t_mid) / 2
        and t_mid > t0
    )


def _limit(reason: Reason, limit: float, held: frozenset[Reason], rules: SafetyConfig) -> float:
    """A temperature limit, lowered by the hysteresis while the reason it gave is in force."""
    return limit - rules.hysteresis_c if reason in held else limit


def bay_findings(
    watch: BayWatch, sample: BaySample, temps: tuple[tuple[float, float], ...], rules: SafetyConfig
) -> dict[Reason, Level]:
    """What the newest sample of a bay calls for: each reason with the level it asks."""
    reading = sample.reading
    held = watch.reasons | watch.active
    found: dict[Reason, Level] = {}
    if reading.error is not None:
        quiet_for = None if watch.last_answer_at is None else sample.at - watch.last_answer_at
        if watch.charging and quiet_for is not None and quiet_for >= rules.silent_watch_s:
            found[Reason.BMS_SILENT] = Level.WATCH
        return found
    if not reading.present:
        return found
    temp = reading.temperature_c
    charging = reading.charger_state == "charging"
    if temp is not None:
        if temp >= _limit(Reason.FIRE_TEMPERATURE, rules.fire_c, held, rules):
            found[Reason.FIRE_TEMPERATURE] = Level.FIRE
        if temp >= _limit(Reason.ALARM_TEMPERATURE, rules.alarm_c, held, rules):
            found[Reason.ALARM_TEMPERATURE] = Level.ALARM
        hot_to_charge = Reason.TOO_HOT_TO_CHARGE in held or charging
        if hot_to_charge and temp > _limit(Reason.TOO_HOT_TO_CHARGE, rules.charge_watch_c, held, rules):
            found[Reason.TOO_HOT_TO_CHARGE] = Level.WATCH
        cold_limit = rules.charge_min_c + (rules.hysteresis_c if Reason.TOO_COLD_TO_CHARGE in held else 0.0)
        if (Reason.TOO_COLD_TO_CHARGE in held or charging) and temp < cold_limit:
            found[Reason.TOO_COLD_TO_CHARGE] = Level.WATCH
        if temp > _limit(Reason.STORAGE_HOT, rules.storage_watch_c, held, rules):
            found[Reason.STORAGE_HOT] = Level.WATCH
        if _runaway(temps, rules):
            found[Reason.THERMAL_RUNAWAY] = Level.FIRE
        rise = _rise_per_min(temps, rules, resolution_c=1.0)
        if rise > rules.rise_alarm_c_per_min:
            found[Reason.RISE_ALARM] = Level.ALARM
        elif rise > rules.rise_watch_c_per_min:
            found[Reason.RISE_WATCH] = Level.WATCH
    window = (
        rules.chemistries.get(sample.chemistry or rules.default_chemistry) or rules.chemistries[rules.default_chemistry]
    )
    if reading.voltage_v is not None:
        if reading.voltage_v > window.max_v:
            found[Reason.OVER_VOLTAGE] = Level.ALARM
        elif reading.voltage_v < window.min_v:
            found[Reason.UNDER_VOLTAGE] = Level.WATCH
    if reading.current_a is not None and abs(reading.current_a) > rules.max_current_a:
        found[Reason.OVER_CURRENT] = Level.ALARM
    if len(sample.cells_mv) >= 2:
        spread = max(sample.cells_mv) - min(sample.cells_mv)
        if spread > rules.cell_imbalance_alarm_mv:
            found[Reason.CELL_IMBALANCE_ALARM] = Level.ALARM
        elif spread > rules.cell_imbalance_watch_mv:
            found[Reason.CELL_IMBALANCE_WATCH] = Level.WATCH
    if reading.fault_flags:
        found[Reason.BMS_FAULT] = max(FLAG_LEVELS.get(flag, Level.WATCH) for flag in reading.fault_flags)
    return found


def _settle(
    level: Level,
    reasons: frozenset[Reason],
    calm_since: float | None,
    found: Mapping[Reason, Level],
    now: float,
    rules: SafetyConfig,
) -> tuple[Level, frozenset[Reason], float | None]:
    """The new (level, reasons, calm_since) from what the newest sample calls for."""
    wanted = max(found.values(), default=Level.NORMAL)
    active = frozenset(found)
    if wanted > level:
        return wanted, active, None
    if wanted == level:
        return level, (reasons | active) if level in LATCHING else active, None
    if level in LATCHING:
        return level, reasons, None
    since = now if calm_since is None else calm_since
    if now - since >= rules.calm_s:
        return wanted, active, None
    return level, reasons, since


def step_bay(watch: BayWatch, sample: BaySample, rules: SafetyConfig) -> BayWatch:
    """Fold one sample of a bay into its watch."""
    reading = sample.reading
    temps = watch.temps
    if reading.error is None and reading.present and reading.temperature_c is not None:
        keep_from = sample.at - max(rules.rise_window_s, rules.runaway_hold_s + 2.0)
        temps = (*(tc for tc in temps if tc[0] >= keep_from), (sample.at, reading.temperature_c))
    elif reading.error is None and not reading.present:
        temps = ()
    found = bay_findings(watch, sample, temps, rules)
    level, reasons, calm_since = _settle(watch.level, watch.reasons, watch.calm_since, found, sample.at, rules)
    answered = reading.error is None
    charging = watch.charging
    if answered:
        charging = reading.present and (
            reading.charger_state == "charging" or (Reason.TOO_HOT_TO_CHARGE in found and watch.charging)
        )
    return replace(
        watch,
        level=level,
        reasons=reasons,
        active=frozenset(found),
        active_level=max(found.values(), default=Level.NORMAL),
        temps=temps,
        last_answer_at=sample.at if answered else watch.last_answer_at,
        charging=charging,
        calm_since=calm_since,
    )


W = TypeVar("W", BayWatch, CabinetWatch)


def _reset(watch: W) -> W | None:
    """A latched level cleared down to what the newest readings call for; None while they call for a latch."""
    if watch.level not in LATCHING:
        return watch
    if watch.active_level in LATCHING:
        return None
    return replace(watch, level=watch.active_level, reasons=watch.active, calm_since=None)


def reset_bay(watch: BayWatch) -> BayWatch | None:
    """A member of staff clears a bay's latched level; None when its readings still call for an alarm."""
    return _reset(watch)


# --- the cabinet ------------------------------------------------------------------------------------


def cabinet_findings(
    watch: CabinetWatch, sensors: CabinetSample | None, bays: Iterable[BayWatch], rules: SafetyConfig
) -> dict[Reason, Level]:
    """What the cabinet's sensors and its bays call for."""
    held = watch.reasons | watch.active
    found: dict[Reason, Level] = {}
    if sensors is not None:
        if sensors.smoke:
            found[Reason.SMOKE] = Level.FIRE
        if sensors.air_c is not None:
            if sensors.air_c >= _limit(Reason.CABINET_HOT, rules.cabinet_alarm_c, held, rules):
                found[Reason.CABINET_HOT] = Level.ALARM
            elif sensors.air_c > _limit(Reason.CABINET_WARM, rules.cabinet_watch_c, held, rules):
                found[Reason.CABINET_WARM] = Level.WATCH
        if sensors.humidity_pct is not None:
            humid = rules.humidity_watch_pct
            if Reason.CONDENSATION in held:
                humid -= rules.humidity_hysteresis_pct
            if sensors.humidity_pct >= humid:
                found[Reason.CONDENSATION] = Level.WATCH
    worst = max((bay.level for bay in bays), default=Level.NORMAL)
    if worst == Level.FIRE:
        found[Reason.BAY_FIRE] = Level.FIRE
    elif worst == Level.ALARM:
        found[Reason.BAY_ALARM] = Level.WATCH
    return found


def step_cabinet(
    watch: CabinetWatch, sensors: CabinetSample | None, bays: Iterable[BayWatch], now: float, rules: SafetyConfig
) -> CabinetWatch:
    """Fold the cabinet's sensors (None: unchanged since the last sample) and its bays into its watch."""
    sensors = sensors if sensors is not None else watch.sensors
    found = cabinet_findings(watch, sensors, bays, rules)
    level, reasons, calm_since = _settle(watch.level, watch.reasons, watch.calm_since, found, now, rules)
    return replace(
        watch,
        level=level,
        reasons=reasons,
        active=frozenset(found),
        active_level=max(found.values(), default=Level.NORMAL),
        calm_since=calm_since,
        sensors=sensors,
    )


def reset_cabinet(watch: CabinetWatch) -> CabinetWatch | None:
    """Staff clear the cabinet's latched level; None while its sensors or a bay still call for an alarm."""
    return _reset(watch)


# --- outputs and actions ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SafetyState:
    """Every bay's watch and the cabinet's."""

    bays: Mapping[int, BayWatch] = field(default_factory=dict)
    cabinet: CabinetWatch = CabinetWatch()

    def unlock_allowed(self, bay: int) -> bool:
        """A bay may be unlocked only when neither it nor the cabinet is in alarm or fire."""
        if self.cabinet.level == Level.FIRE:
            return False
        watch = self.bays.get(bay)
        return watch is None or watch.level < Level.ALARM

    def swaps_allowed(self) -> bool:
        """New swaps start only while the cabinet is not in fire."""
        return self.cabinet.level < Level.FIRE

    def worst(self) -> Level:
        """The worst level anywhere in the cabinet."""
        return max([self.cabinet.level, *(bay.level for bay in self.bays.values())])


def desired_outputs(state: SafetyState, applied: Outputs, rules: SafetyConfig) -> Outputs:
    """What the outputs must be for ``state``; extinguishers once triggered stay triggered."""
    cabinet = state.cabinet.level
    all_off = cabinet >= Level.ALARM
    charging_off = frozenset(bay for bay, watch in state.bays.items() if all_off or watch.level >= Level.WATCH)
    fan = rules.fan_at_fire == "on" if cabinet == Level.FIRE else state.worst() >= Level.WATCH
    fire_bays = frozenset(bay for bay, watch in state.bays.items() if watch.level == Level.FIRE)
    return Outputs(
        charging_off=charging_off,
        fan=fan,
        extinguished_bays=applied.extinguished_bays | fire_bays,
        cabinet_extinguisher=applied.cabinet_extinguisher or Reason.SMOKE in state.cabinet.reasons,
        mains_cut=cabinet == Level.FIRE,
    )


def plan_actions(applied: Outputs, desired: Outputs, unknown: frozenset[int] = frozenset()) -> list[Action]:
    """The actions that take the outputs from ``applied`` to ``desired``, the protective ones first.

    Order: charging off (each bay), fan on, each bay's extinguisher, the cabinet's, mains cut; then what
    undoes a protection once it is no longer needed: mains back, fan off, charging back on.
    ``unknown``: bays whose charger state is not known (a slot controller keeps its register through the
    station's restart) — each gets its charger written as ``desired`` says, whatever ``applied`` claims.
    """
    off = (desired.charging_off - applied.charging_off) | (desired.charging_off & unknown)
    on = (applied.charging_off - desired.charging_off) | (unknown - desired.charging_off)
    actions = [Action(ActionKind.CHARGER_OFF, bay) for bay in sorted(off)]
    if desired.fan and not applied.fan:
        actions.append(Action(ActionKind.FAN_ON))
    actions += [
        Action(ActionKind.EXTINGUISH_BAY, bay) for bay in sorted(desired.extinguished_bays - applied.extinguished_bays)
    ]
    if desired.cabinet_extinguisher and not applied.cabinet_extinguisher:
        actions.append(Action(ActionKind.EXTINGUISH_CABINET))
    if desired.mains_cut and not applied.mains_cut:
        actions.append(Action(ActionKind.MAINS_CUT))
    if applied.mains_cut and not desired.mains_cut:
        actions.append(Action(ActionKind.MAINS_RESTORE))
    if applied.fan and not desired.fan:
        actions.append(Action(ActionKind.FAN_OFF))
    actions += [Action(ActionKind.CHARGER_ON, bay) for bay in sorted(on)]
    return actions


def apply_action(outputs: Outputs, action: Action) -> Outputs:
    """The outputs after one action has been carried out."""
    bays = frozenset() if action.bay is None else frozenset({action.bay})
    match action.kind:
        case ActionKind.CHARGER_OFF:
            return replace(outputs, charging_off=outputs.charging_off | bays)
        case ActionKind.CHARGER_ON:
            return replace(outputs, charging_off=outputs.charging_off - bays)
        case ActionKind.FAN_ON | ActionKind.FAN_OFF:
            return replace(outputs, fan=action.kind == ActionKind.FAN_ON)
        case ActionKind.EXTINGUISH_BAY:
            return replace(outputs, extinguished_bays=outputs.extinguished_bays | bays)
        case ActionKind.EXTINGUISH_CABINET:
            return replace(outputs, cabinet_extinguisher=True)
        case ActionKind.MAINS_CUT | ActionKind.MAINS_RESTORE:
            return replace(outputs, mains_cut=action.kind == ActionKind.MAINS_CUT)


def transitions(before: SafetyState, after: SafetyState) -> list[Transition]:
    """The level changes from one state to the next, bays in order, then the cabinet."""
    changes = []
    for bay in sorted(after.bays):
        old = before.bays.get(bay)
        new = after.bays[bay]
        old_level = old.level if old is not None else Level.NORMAL
        if new.level != old_level:
            changes.append(Transition(bay, old_level, new.level, new.reasons))
    if after.cabinet.level != before.cabinet.level:
        changes.append(Transition(None, before.cabinet.level, after.cabinet.level, after.cabinet.reasons))
    return changes
