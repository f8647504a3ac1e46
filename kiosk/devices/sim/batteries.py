"""The simulated city's battery registry, and the foreign-battery faults: the next pack a rider returns is
one the registry does not know, one it knows as retired, or one worn below the SoH floor."""

from __future__ import annotations

import threading
from collections.abc import Iterable

from kiosk.core.battery_registry import PackRow

FOREIGN_FAULTS: dict[str, str] = {
    "foreign_battery": "unknown",
    "foreign_battery_retired": "retired",
    "foreign_battery_low_soh": "low_soh",
}
"""Fault name -> the identity the next returned pack has."""
UNKNOWN_ID = "ZZ0000001"
"""A pack of the network's id form that no registry lists (a pack from another operator, a copied label)."""
RETIRED_ID = "SH8999999"
"""A pack the simulated registry lists as retired."""
WORN_SOH_PCT = 55.0
"""The state of health a worn pack's BMS reports (below the default floor of 70 %)."""
RIDER_POOL = tuple(f"SH9{n:06d}" for n in range(1000))
"""Registered packs out with riders (``SH9000000``-``SH9000999``; the status page offers ``SH9000001``)."""
MODEL, CHEMISTRY = "TL-48V20", "nmc-13s"


def sim_registry(cabinet_ids: Iterable[str]) -> list[PackRow]:
    """The simulated city's registry: the cabinet's packs, the riders' pool, and one retired pack."""
    ids = sorted({*cabinet_ids, *RIDER_POOL} - {RETIRED_ID})
    return [*(PackRow(i, MODEL, CHEMISTRY, retired=False) for i in ids), PackRow(RETIRED_ID, MODEL, CHEMISTRY, True)]


class ForeignPacks:
    """Which identity, if any, the next returned pack takes (one pack per fault turned on)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next: str | None = None

    def arm(self, fault: str | None) -> None:
        """The next returned pack is ``fault``'s (None: an ordinary one)."""
        if fault is not None and fault not in FOREIGN_FAULTS:
            raise ValueError(f"{fault!r} is not a foreign-battery fault ({', '.join(FOREIGN_FAULTS)})")
        with self._lock:
            self._next = fault

    @property
    def armed(self) -> str | None:
        """The fault waiting for the next returned pack."""
        with self._lock:
            return self._next

    def take(self, battery_id: str, soh_pct: float) -> tuple[str, float, str | None]:
        """The (id, state of health) the pack a rider puts in really has, and the fault it used up."""
        with self._lock:
            fault, self._next = self._next, None
        match FOREIGN_FAULTS.get(fault or ""):
            case "unknown":
                return UNKNOWN_ID, soh_pct, fault
            case "retired":
                return RETIRED_ID, soh_pct, fault
            case "low_soh":
                return battery_id, WORN_SOH_PCT, fault
        return battery_id, soh_pct, None
