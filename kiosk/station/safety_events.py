"""Events of the battery-safety supervisor: level changes and each action, before and after it is done."""

from __future__ import annotations

from typing import ClassVar, Literal

from kiosk.core.events import Event, event_type


@event_type
class SafetyLevelChanged(Event):
    """A bay's or the cabinet's safety level changed."""

    TYPE: ClassVar[str] = "safety.level_changed"
    bay: int | None
    """Bay number; None for the cabinet as a whole."""
    before: Literal["normal", "watch", "alarm", "fire"]
    """The level before."""
    after: Literal["normal", "watch", "alarm", "fire"]
    """The level now."""
    reasons: list[str]
    """Why, e.g. ``thermal_runaway``, ``smoke``, ``too_hot_to_charge``."""
    temperature_c: float | None = None
    """The bay's battery temperature at the change, if known."""
    by: str | None = None
    """Who reset a latched level (staff login), when a reset caused the change."""


@event_type
class SafetyAction(Event):
    """An action on a safety output: recorded as ``started`` before it is carried out, then its outcome."""

    TYPE: ClassVar[str] = "safety.action"
    action: str
    """charger_off, charger_on, fan_on, fan_off, extinguish_bay, extinguish_cabinet, mains_cut, mains_restore."""
    bay: int | None
    """The bay, for per-bay actions."""
    phase: Literal["started", "done", "failed"]
    """``started`` is written before the output is touched."""
    error: str | None = None
    """What went wrong, for ``failed``."""
