"""Core screens (and link states) the UI tests render: one of each kind a rider can meet."""

from __future__ import annotations

from typing import Any

from kiosk.api.models import Status
from kiosk.api.screen import Screen

NEARBY = [
    {
        "station_id": "sh-xuhui-002",
        "name": "漕溪北路驿站",
        "name_en": "Caoxi North Rd Station",
        "distance_m": 640.0,
        "charged_batteries": 5,
    },
    {
        "station_id": "sh-xuhui-007",
        "name": "徐家汇地铁站驿站",
        "name_en": "Xujiahui Metro Station",
        "distance_m": 1830.0,
        "charged_batteries": 2,
    },
]

CASES: dict[str, tuple[str, dict[str, Any]]] = {
    "idle": ("idle", {}),
    "rider": ("rider", {"name": "张师傅", "points": 1280}),
    "swap.open_return_bay": ("swap.open_return_bay", {"bay": 7, "seconds": 120}),
    "swap.no_battery": ("swap.no_battery", {"bay": 7, "can_reopen": True}),
    "swap.take_back": ("swap.take_back", {"bay": 7, "reason": "foreign", "seconds": 120}),
    "swap.take_charged": ("swap.take_charged", {"bay": 12, "seconds": 120}),
    "swap.done": ("swap.done", {"bay": 12}),
    "swap.ended.abandoned": ("swap.ended", {"outcome": "abandoned", "detail": "no battery"}),
    "swap.ended.bay_fault": ("swap.ended", {"outcome": "bay_fault", "detail": "lock jammed"}),
    "swap.refused.no_charged_battery": ("swap.refused", {"reason": "no_charged_battery", "nearby": NEARBY}),
    "swap.refused.too_soon": ("swap.refused", {"reason": "too_soon", "wait_s": 130.0, "nearby": []}),
    "swap.busy": ("swap.busy", {}),
    "code.refused.expired": ("code.refused", {"reason": "expired", "message_zh": "x", "message_en": "x"}),
    "scan.unreadable": ("scan.unreadable", {"reason": "garbled"}),
    "entry.welcome": ("entry.welcome", {}),
    "entry.refused": ("entry.refused", {"reason": "revoked"}),
    "entry.fault": ("entry.fault", {"reason": "strike did not answer"}),
}


def screen(case: str, number: int, mono: float = 0.0) -> Screen:
    """Case ``case`` as core would send it, numbered ``number``."""
    name, params = CASES[case]
    return Screen(number=number, name=name, params=params, mono=mono)


def status(*, bays: int = 12, charged: int = 5, faulted: tuple[int, ...] = (), online: bool = True) -> Status:
    """A plausible ``/api/status``: ``bays`` bays, the first ``charged`` full, the last two empty."""
    cabinet_bays: dict[str, Any] = {}
    for n in range(1, bays + 1):
        battery = None
        if n <= bays - 2:
            soc = 100.0 if n <= charged else 40.0
            battery = {"bay": n, "present": True, "battery_id": f"SH{n:07d}", "soc_pct": soc, "fault_flags": []}
        cabinet_bays[str(n)] = {
            "bay": n,
            "door": "closed",
            "lock": "locked",
            "presence": None,
            "fault": "lock jammed" if n in faulted else None,
            "battery": battery,
        }
    return Status.model_validate(
        {
            "station_id": "sh-xuhui-001",
            "station_name": "徐汇骑手驿站",
            "station_name_en": "Xuhui Rider Station",
            "version": "0.1.0",
            "uptime_s": 7200.0,
            "wall_synced": True,
            "components": {
                "cabinet": {"state": "running", "optional": False, "bays": cabinet_bays},
                "station": {"state": "running", "optional": False, "out_of_service": {}, "swap": None},
            },
            "warnings": ["cabinet: bay 3: lock jammed"] if faulted else [],
            "store": {},
            "sync": {
                "enabled": True,
                "last_success": "2025-01-01T00:00:00Z" if online else None,
                "last_error": None if online else "timeout",
                "backlog": 0,
            },
        }
    )
