"""The simulated cabinet as a station's config sees it: its kinds, the faults it offers, and :func:`sim_hardware`.

:func:`sim_hardware` is the station's hardware config pointed at the simulator — its ports (stable
symlinks under the simulator's workdir), pins and slave addresses — so that drivers opened from it talk
to :class:`~kiosk.devices.sim.cabinet.SimCabinet`. :data:`FAULTS` are the faults
:meth:`~kiosk.devices.sim.cabinet.SimCabinet.inject` knows, per bay or for the whole cabinet.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, get_args

from kiosk.core.hardware import HardwareConfig
from kiosk.devices.sim.air import FAULTS as AIR_FAULTS
from kiosk.devices.sim.air import wire_air
from kiosk.devices.sim.batteries import FOREIGN_FAULTS
from kiosk.devices.sim.safety import wire_safety_pins

CabinetSimKind = Literal["gpio", "kerong", "8a80"]
Fault = Literal[
    "lock_jammed",
    "door_flapping",
    "board_silent",
    "battery_hot",
    "scanner_unplugged",
    "slot_silent",
    "thermal_runaway",
    "bms_silent",
    "smoke",
    "foreign_battery",
    "foreign_battery_retired",
    "foreign_battery_low_soh",
    "cabinet_hot",
    "humid",
    "air_sensor_silent",
    "air_probe_disconnected",
]
FAULTS: tuple[str, ...] = get_args(Fault)
"""Every fault :meth:`SimCabinet.inject` knows."""
BAY_FAULTS = {"lock_jammed", "door_flapping", "battery_hot", "slot_silent", "thermal_runaway", "bms_silent"}
CABINET_FAULTS = {"scanner_unplugged", "smoke", *FOREIGN_FAULTS, *AIR_FAULTS}

LOCK_BUS_LINK = "lock-bus"
SLOTS_LINK = "slot-controllers"
SCANNER_LINK = "scanner"
"""Names of the stable symlinks under ``workdir`` (like ``/dev/serial/by-id/…``)."""

GPIO_POOL = [f"GPIO{n}" for n in (0, 1, *range(4, 28))]
"""Pins the simulator hands to GPIO bays; GPIO2/3 carry fixed pull-ups on a Pi, so switches avoid them."""
KERONG_LOCKS = 16
LOCKS_8A80 = 24


def sim_hardware(kind: CabinetSimKind, hw: HardwareConfig, workdir: Path) -> HardwareConfig:
    """``hw`` with the simulator's ports, pins and addresses: what drivers must open to reach the simulator.

    Bays keep their numbers and goods (in order, the i-th bay gets lock channel i, slave i+1 unless it holds goods, or
    the next free pins); every driver setting is kept; the entry door keeps its configured pins.
    """
    if kind not in get_args(CabinetSimKind):
        raise ValueError(f"the simulated cabinet is 'gpio', 'kerong' or '8a80', not {kind!r}")
    bays = sorted(hw.bays, key=lambda b: b.number)
    if not bays:
        raise ValueError("the simulated cabinet needs at least one [[hardware.bays]] in the config")
    door = hw.entry_door
    pool = [p for p in GPIO_POOL if p not in (door.lock_pin, door.door_pin, *hw.safety.pins())]
    goods = sum(1 for bay in bays if bay.goods is not None)
    # A goods bay holds no battery, so it never needs a presence switch: battery bays get one each
    # when the pins suffice for all of them (and the goods bays' lock and door).
    with_presence = 3 * (len(bays) - goods) + 2 * goods <= len(pool)
    bay_pins = 0 if kind != "gpio" else (3 * (len(bays) - goods) + 2 * goods if with_presence else 2 * len(bays))
    safety = hw.safety.model_dump()
    if not hw.safety.pins():  # a fan, the chargers' mains contactor, an extinguisher and a smoke detector
        wire_safety_pins(safety, pool, spare=len(pool) - bay_pins)
    if kind == "gpio" and 2 * len(bays) > len(pool):
        raise ValueError(f"a GPIO cabinet has pins for at most {len(pool) // 2} bays, not {len(bays)}")
    free = iter(pool)
    out: list[dict[str, Any]] = []
    for i, bay in enumerate(bays):
        # A goods bay holds no battery, so it has no slot controller (as on a real cabinet).
        slave = i + 1 if bay.goods is None else None
        entry: dict[str, Any] = {"number": bay.number, "slave": slave, "goods": bay.goods}
        if kind == "kerong":
            entry |= {"board": i // KERONG_LOCKS, "lock": i % KERONG_LOCKS}
        elif kind == "8a80":
            entry |= {"board": 1 + i // LOCKS_8A80, "lock": i % LOCKS_8A80}
        else:
            presence = with_presence and bay.goods is None
            entry |= {"lock_pin": next(free), "door_pin": next(free), "presence_pin": next(free) if presence else None}
        out.append(entry)
    data = hw.model_dump()
    data.update(
        cabinet=kind, bays=out, bus_port=None if kind == "gpio" else str(workdir / LOCK_BUS_LINK), safety=safety
    )
    data["slots"]["port"] = str(workdir / SLOTS_LINK)
    wire_air(data["safety"], {entry["slave"] for entry in out if entry["slave"] is not None}, workdir)
    data["scanner"].update(kind="serial", port=str(workdir / SCANNER_LINK))
    return HardwareConfig.model_validate(data)
