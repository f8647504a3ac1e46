"""Statuses with the safety supervisor's part in them, as core serves them."""

from __future__ import annotations

from typing import Any

from kiosk.api.models import Status
from tests.ui.cases import status

SAFETY_CASES: dict[str, tuple[str, dict[int, str], str]] = {
    "safety.fire": ("fire", {4: "fire"}, "swap.open_return_bay"),
    "safety.bay_alarm": ("watch", {3: "alarm"}, "idle"),
    "safety.bay_alarms_swap": ("watch", {3: "alarm", 11: "alarm"}, "swap.take_charged"),
    "safety.cabinet_alarm": ("alarm", {}, "idle"),
}
"""Case -> (the cabinet's level, bays above normal, the core screen shown under it)."""


def safety_part(cabinet: str = "normal", bays: dict[int, str] | None = None, count: int = 12) -> dict[str, Any]:
    """``components.safety`` as the supervisor reports it (levels only; no readings)."""
    levels = bays or {}
    return {
        "state": "running",
        "optional": False,
        "level": max([cabinet, *levels.values()], key=["normal", "watch", "alarm", "fire"].index),
        "cabinet": {"level": cabinet, "reasons": ["bay_fire"] if cabinet == "fire" else [], "since": None},
        "bays": {
            str(n): {"level": levels.get(n, "normal"), "reasons": [], "since": None, "history": []}
            for n in range(1, count + 1)
        },
        "warnings": [],
    }


def safety_status(cabinet: str = "normal", bays: dict[int, str] | None = None) -> Status:
    """A healthy station's status whose safety supervisor reports these levels."""
    data = status().model_dump()
    data["components"]["safety"] = safety_part(cabinet, bays)
    return Status.model_validate(data)
