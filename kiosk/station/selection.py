"""Which bay takes the returned battery, which battery is handed out, and whether a battery is acceptable.

Pure functions over a :class:`Cabinet` snapshot (bay states, latest battery readings, bays out of
service, when each bay was last used) and a :class:`SwapPolicy`. Nothing here reads a device or a clock:
the caller passes ``now`` where time matters.

Two sources can say whether a bay holds a battery: the bay's presence switch (``BayState.presence``) and
the slot controller (``BatteryReading.present``). A bay counts as *empty* only when at least one source
says empty and none says present; a reading with ``error`` set is no source at all. Disagreement is
treated as "maybe occupied": a bay is never chosen for a return unless it is known to be empty.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from kiosk.core.battery_registry import PackStatus, RegistryIndex
from kiosk.core.config import PolicyConfig
from kiosk.devices.base import BatteryReading, BayState, DoorState, LockState


@dataclass(frozen=True)
class SwapPolicy:
    """Thresholds and time limits of the swap flow: ``PolicyConfig`` plus the fields it does not have yet."""

    charged_soc_pct: float = 95.0
    """A battery counts as charged at or above this state of charge (%)."""
    max_battery_temp_c: float = 45.0
    """A battery hotter than this (°C) is never handed out."""
    insert_timeout_s: float = 120.0
    """How long a rider has, from the unlock, to put the flat battery in and close the door (s)."""
    collect_timeout_s: float = 120.0
    """How long a rider has, from the unlock, to take the charged battery (or a rejected one) and close the door (s)."""
    door_open_alarm_s: float = 90.0
    """A door open longer than this raises an alarm; a swap whose wait has passed ends this long after it (s)."""
    battery_id_pattern: str = r"^[A-Z]{2}[0-9A-Z]{6,14}$"
    """Regular expression every battery id of this network matches; others are refused as foreign."""
    min_minutes_between_swaps: float = 3.0
    """A rider may start a swap only this many minutes after their last completed one (0 = no limit)."""
    require_battery_id: bool = True
    """Refuse returned batteries without an id. False on GPIO-only cabinets, which sense presence only."""
    unlock_confirm_s: float | None = 10.0
    """A door not seen open this long after its unlock counts as a lock that did not open (None = never)."""
    max_bay_attempts: int = 3
    """How many bays are tried for one role (return, charged) before the swap gives up on faulty locks."""
    read_timeout_s: float = 10.0
    """How long to wait for an answer to a battery read before counting it as failed (s)."""
    read_attempts: int = 3
    """How many failed battery reads in a row are tolerated before the bay is declared faulted."""
    assume_charged_after_s: float | None = None
    """Cabinets without battery telemetry: a present battery counts as charged once its bay has been
    closed this long after its last use (None = a state of charge is required)."""
    soh_floor_pct: float = 0.0
    """A returned pack whose BMS reports a state of health below this (%) is refused (``[batteries]``)."""
    without_registry: str = "accept"
    """With no battery registry from the hub: ``accept`` returned packs (flagged unverified) or ``refuse``."""

    def __post_init__(self) -> None:
        try:  # a bad pattern must fail at start, not at the first return
            re.compile(self.battery_id_pattern)
        except re.error as exc:
            raise ValueError(f"battery_id_pattern {self.battery_id_pattern!r} is not a valid regex: {exc}") from exc
        for name in ("insert_timeout_s", "collect_timeout_s", "door_open_alarm_s", "read_timeout_s"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        if self.unlock_confirm_s is not None and self.unlock_confirm_s <= 0:
            raise ValueError(f"unlock_confirm_s must be positive or None, got {self.unlock_confirm_s}")
        if self.max_bay_attempts < 1 or self.read_attempts < 1:
            raise ValueError("max_bay_attempts and read_attempts must be at least 1")
        if self.min_minutes_between_swaps < 0:
            raise ValueError("min_minutes_between_swaps must not be negative")

    @classmethod
    def from_config(cls, config: PolicyConfig, **extra: object) -> SwapPolicy:
        """The policy from the config section, plus fields given here (those ``PolicyConfig`` lacks)."""
        names = set(cls.__dataclass_fields__)
        values: dict[str, object] = {name: getattr(config, name) for name in names if hasattr(config, name)}
        values.update(extra)
        return cls(**values)  # type: ignore[arg-type]

    def is_network_id(self, battery_id: str | None) -> bool:
        """True when ``battery_id`` belongs to this network (None passes only if ids are not required)."""
        if battery_id is None:
            return not self.require_battery_id
        return re.fullmatch(self.battery_id_pattern, battery_id) is not None


@dataclass(frozen=True)
class Cabinet:
    """What the station knows of its bays at one moment (the app keeps it current from the drivers)."""

    bays: Mapping[int, BayState]
    """Every bay's latest state from the locker bank."""
    readings: Mapping[int, BatteryReading] = field(default_factory=dict)
    """Latest slot-controller reading per bay (missing where the bay has none)."""
    out_of_service: frozenset[int] = frozenset()
    """Bays staff or the station took out of service (faulted locks, maintenance)."""
    last_used: Mapping[int, float] = field(default_factory=dict)
    """Monotonic time each bay's door was last opened in a swap (missing: not in this boot)."""
    registry: RegistryIndex | None = None
    """The hub's battery registry (None: the station never received one)."""


class StartRefusal(enum.Enum):
    """Why a swap cannot start."""

    NO_EMPTY_BAY = "no_empty_bay"
    NO_CHARGED_BATTERY = "no_charged_battery"


@dataclass(frozen=True)
class Plan:
    """The bays a swap can use: one empty for the return, one with a charged battery."""

    return_bay: int
    charged_bay: int


class ReturnVerdict(enum.Enum):
    """What to do with the battery found in the return bay after its door closed."""

    ACCEPTED = "accepted"
    ABSENT = "absent"
    FOREIGN = "foreign"
    """The id is not of this network's form (``battery_id_pattern``)."""
    UNKNOWN = "unknown"
    """The hub's registry does not know the id."""
    RETIRED = "retired"
    """The hub's registry says the pack is retired."""
    LOW_SOH = "low_soh"
    """The pack's BMS reports a state of health below the floor."""
    FAULTY = "faulty"
    UNREADABLE = "unreadable"


REGISTRY_REFUSALS: frozenset[ReturnVerdict] = frozenset(
    {ReturnVerdict.UNKNOWN, ReturnVerdict.RETIRED, ReturnVerdict.LOW_SOH}
)
"""Verdicts that refuse a readable, healthy-looking pack for what it is (recorded as ``battery.refused``)."""


def holds_battery(bay: BayState | None, reading: BatteryReading | None) -> bool | None:
    """Whether the bay holds a battery: True, False, or None when the sources are silent or disagree."""
    sources: list[bool] = []
    if bay is not None and bay.presence is not None:
        sources.append(bay.presence)
    if reading is not None and reading.error is None:
        sources.append(reading.present)
    if not sources or len(set(sources)) > 1:
        return None
    return sources[0]


def bay_works(bay: BayState, cabinet: Cabinet) -> bool:
    """A bay the station may open now: in service, no fault, door known closed, lock not reported open."""
    return (
        bay.bay not in cabinet.out_of_service
        and bay.fault is None
        and bay.door is DoorState.CLOSED
        # UNLOCKED on a closed door means a pulse is running or the latch is broken; UNKNOWN is a bay without feedback.
        and bay.lock is not LockState.UNLOCKED
    )


def _last_used(cabinet: Cabinet, bay: int) -> float:
    return cabinet.last_used.get(bay, float("-inf"))


def return_candidates(cabinet: Cabinet, exclude: frozenset[int] = frozenset()) -> list[int]:
    """Empty working bays for a returned battery, least recently used first (spreads wear), then by number."""
    found = [
        number
        for number, bay in cabinet.bays.items()
        if number not in exclude
        and bay_works(bay, cabinet)
        and holds_battery(bay, cabinet.readings.get(number)) is False
    ]
    return sorted(found, key=lambda n: (_last_used(cabinet, n), n))


def is_charged(
    reading: BatteryReading | None,
    policy: SwapPolicy,
    *,
    last_used: float | None = None,
    now: float = 0.0,
    registry: RegistryIndex | None = None,
) -> bool:
    """A battery the station may hand out: present, healthy, cool enough, charged, ours, and in service.

    A pack the registry does not list as in service, or worn below the SoH floor, is never handed out
    (a rider may have left a refused one behind).

    Without telemetry (no state of charge) a battery counts as charged only when the policy allows it
    (``assume_charged_after_s``) and its bay has been left alone that long.
    """
    if reading is None or reading.error is not None or not reading.present:
        return False
    if reading.fault_flags or reading.charger_state == "fault":
        return False
    if not policy.is_network_id(reading.battery_id):
        return False
    if registry is not None and reading.battery_id is not None and not registry.serves(reading.battery_id):
        return False
    if reading.soh_pct is not None and reading.soh_pct < policy.soh_floor_pct:
        return False
    if reading.soc_pct is None:
        if policy.assume_charged_after_s is None:
            return False
        return last_used is None or now - last_used >= policy.assume_charged_after_s
    if reading.temperature_c is None or reading.temperature_c > policy.max_battery_temp_c:
        return False
    return reading.soc_pct >= policy.charged_soc_pct


def charged_candidates(
    cabinet: Cabinet, policy: SwapPolicy, now: float = 0.0, exclude: frozenset[int] = frozenset()
) -> list[int]:
    """Working bays with a battery to hand out: highest state of charge, then least recently used, then number."""
    found: list[tuple[float, float, int]] = []
    for number, bay in cabinet.bays.items():
        if number in exclude or not bay_works(bay, cabinet) or bay.presence is False:
            continue
        reading = cabinet.readings.get(number)
        if not is_charged(reading, policy, last_used=cabinet.last_used.get(number), now=now, registry=cabinet.registry):
            continue
        assert reading is not None  # is_charged said so
        soc = reading.soc_pct if reading.soc_pct is not None else policy.charged_soc_pct
        found.append((-soc, _last_used(cabinet, number), number))
    return [number for _, _, number in sorted(found)]


def can_start(
    cabinet: Cabinet, policy: SwapPolicy, now: float = 0.0, exclude: frozenset[int] = frozenset()
) -> Plan | StartRefusal:
    """The bays a swap would use, or why it cannot be finished (checked before anything opens)."""
    returns = return_candidates(cabinet, exclude)
    if not returns:
        return StartRefusal.NO_EMPTY_BAY
    charged = charged_candidates(cabinet, policy, now, exclude)
    if not charged:
        return StartRefusal.NO_CHARGED_BATTERY
    return Plan(return_bay=returns[0], charged_bay=charged[0])


def judge_return(reading: BatteryReading, policy: SwapPolicy, registry: RegistryIndex | None = None) -> ReturnVerdict:
    """What the read of the return bay says about the battery the rider put in.

    ``registry`` is the hub's battery registry (None: the station never received one, and
    ``policy.without_registry`` decides). A pack whose BMS gives no state of health is not judged by it.
    """
    if reading.error is not None:
        return ReturnVerdict.UNREADABLE
    if not reading.present:
        return ReturnVerdict.ABSENT
    if not policy.is_network_id(reading.battery_id):
        return ReturnVerdict.FOREIGN
    if reading.fault_flags:
        return ReturnVerdict.FAULTY
    if registry is None:
        if policy.without_registry == "refuse" and reading.battery_id is not None:
            return ReturnVerdict.UNKNOWN
    elif reading.battery_id is not None:
        status = registry.look_up(reading.battery_id).status
        if status is PackStatus.UNKNOWN:
            return ReturnVerdict.UNKNOWN
        if status is PackStatus.RETIRED:
            return ReturnVerdict.RETIRED
    if reading.soh_pct is not None and reading.soh_pct < policy.soh_floor_pct:
        return ReturnVerdict.LOW_SOH
    return ReturnVerdict.ACCEPTED
