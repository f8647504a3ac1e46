"""A rider returning a pack the registry refuses, through the simulator's controls, judged at the devices.

The station runs its production drivers against the simulated cabinet: the Kerong lock board on a pty
(every unlock frame it receives is a pulse in ``sim.pulses``) and the Modbus slot controllers on a pty
(every charger-enable write it answers is in ``sim.charger_writes()``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kiosk.devices.sim.cabinet import SimCabinet
from tests.support import Technician, wait_until

WAIT = 15.0
RIDERS_PACK = "SH9000001"
"""A registered pack of the simulated city (the riders' pool)."""


def screen_named(tech: Technician, name: str) -> dict[str, Any]:
    """Wait for the touchscreen to show ``name``; its parameters."""
    screen = wait_until(lambda: (s := tech.screen())["name"] == name and s, WAIT, f"screen {name}")
    return dict(screen["params"])


def wait_state(tech: Technician, state: str) -> None:
    """Wait for the swap in flight to reach ``state``."""
    wait_until(lambda: (s := tech.swap()) is not None and s["state"] == state, WAIT, f"swap state {state}")


@dataclass
class HandBack:
    """What happened at the devices while a refused pack was returned and taken back."""

    bay: int
    take_back: dict[str, Any]
    """The touchscreen's ``swap.take_back`` parameters."""
    pulses: list[int]
    """Every bay pulsed during the swap, in order."""
    writes_while_inside: list[tuple[int, int]]
    """Charger-enable writes from the moment the pack went in until it was taken out."""
    charger_on_inside: bool
    """Whether the return bay's charger was ever seen on while the pack was inside."""
    ended: dict[str, Any]
    """The ``swap.ended`` payload."""


def return_refused_pack(tech: Technician, sim: SimCabinet, fault: str, rider: str = "R-refused") -> HandBack:
    """Arm ``fault`` (a foreign-battery fault), swap, put the pack in, take it back when told; what happened."""
    assert tech.sim("/faults", fault=fault, on=True).status_code == 200
    pulses_before = len(sim.pulses)
    tech.code(rider)
    bay = int(screen_named(tech, "swap.open_return_bay")["bay"])
    wait_state(tech, "await_return")
    # The rider needs a few seconds to get the pack out of the bike; the station has held the return bay's
    # charger off by then (it is held from the moment the swap is on disk).
    wait_until(lambda: not sim.charger_enabled(bay), WAIT, f"bay {bay}'s charger held off")
    writes_before = len(sim.charger_writes())
    assert tech.sim(f"/bays/{bay}/insert", battery_id=RIDERS_PACK, soc_pct=15.0).status_code == 200
    assert tech.sim(f"/bays/{bay}/close-door").status_code == 200
    take_back = screen_named(tech, "swap.take_back")
    wait_state(tech, "await_take_back")
    charger_on = sim.charger_enabled(bay)
    assert tech.sim(f"/bays/{bay}/take").status_code == 200
    writes_inside = [w for w in sim.charger_writes()[writes_before:] if w[0] == bay]
    assert tech.sim(f"/bays/{bay}/close-door").status_code == 200
    ended = wait_until(lambda: tech.events("swap.ended"), WAIT, "the swap's end")[-1]["payload"]
    return HandBack(
        bay=bay,
        take_back=take_back,
        pulses=sim.pulses[pulses_before:],
        writes_while_inside=writes_inside,
        charger_on_inside=charger_on,
        ended=dict(ended),
    )
