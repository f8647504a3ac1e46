"""The simulated cabinet, driven through the production drivers that build_devices makes from its config.

Every test runs against each kind of cabinet (GPIO on MockFactory pins, Kerong and 8A/80 boards on a
pty); the slot controllers, the scanner and the entry door are the same for all three.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kiosk.core.clock import SystemClock
from kiosk.core.errors import DeviceError
from kiosk.core.hardware import (
    BayConfig,
    Board8A80Settings,
    EntryDoorConfig,
    HardwareConfig,
    KerongSettings,
    LockerSettings,
    ScannerConfig,
    SerialScannerSettings,
    SlotConfig,
)
from kiosk.devices.base import BayState, DoorState, LockState
from kiosk.devices.build import Devices, build_devices
from kiosk.devices.lockers.gpio import GpioLockerBank
from kiosk.devices.scanner import ScannerState
from kiosk.devices.sim.cabinet import BATTERY_ID, CabinetSimKind, SimCabinet, sim_hardware
from tests.support import ScanRecorder, wait_until

KINDS = ["gpio", "kerong", "8a80"]
BAYS = 6
"""Bays 1-4 start with batteries, 5 and 6 empty."""
EMPTY = 5
FULL = 1

_BUS = {"timeout_s": 0.05, "unlock_timeout_s": 0.2, "retries": 1, "retry_delay_s": 0.005, "reopen_min_s": 0.05}


def station_hw() -> HardwareConfig:
    """A station config with short timeouts, so faults show up fast."""
    return HardwareConfig(
        cabinet="kerong",
        bus_port="/dev/serial/by-id/lock-bus",
        bays=[BayConfig(number=n, lock=n - 1, slave=n) for n in range(1, BAYS + 1)],
        kerong=KerongSettings(**_BUS),
        board8a80=Board8A80Settings(**_BUS),
        gpio=LockerSettings(debounce_s=0.01, pulse_s=0.05),
        slots=SlotConfig(port="/dev/serial/by-id/slots", timeout_s=0.1, retries=0, silent_retry_s=5.0),
        scanner=ScannerConfig(
            kind="serial",
            port="/dev/serial/by-id/scanner",
            serial=SerialScannerSettings(read_timeout_s=0.02, reconnect_initial_s=0.02, reconnect_max_s=0.1),
        ),
        entry_door=EntryDoorConfig(lock_pin="GPIO5", door_pin="GPIO6", debounce_s=0.01),
    )


def started(kind: CabinetSimKind, tmp_path: Path) -> Iterator[SimCabinet]:
    with SimCabinet(kind, station_hw(), tmp_path / "sim", seed=7) as sim:
        sim.start()
        yield sim


@pytest.fixture(params=KINDS)
def cabinet(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SimCabinet]:
    """A started simulated cabinet of each kind."""
    yield from started(request.param, tmp_path)


@pytest.fixture(params=["kerong", "8a80"])
def board_cabinet(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SimCabinet]:
    """A started simulated cabinet with RS-485 lock boards."""
    yield from started(request.param, tmp_path)


@pytest.fixture
def gpio_cabinet(tmp_path: Path) -> Iterator[SimCabinet]:
    """A started simulated GPIO cabinet."""
    yield from started("gpio", tmp_path)


@pytest.fixture
def received() -> ScanRecorder:
    return ScanRecorder()


def drivers(sim: SimCabinet, on_scan: ScanRecorder | None = None) -> Devices:
    """The production drivers, built from the simulator's config."""
    return build_devices(
        sim.hardware_config(), clock=SystemClock(), on_scan=on_scan or ScanRecorder(), pin_factory=sim.pin_factory
    )


@pytest.fixture
def devices(cabinet: SimCabinet, received: ScanRecorder) -> Iterator[Devices]:
    """The production drivers for ``cabinet``."""
    with drivers(cabinet, received) as built:
        yield built


def lockers(devices: Devices) -> GpioLockerBank:
    """The locker bank (typed loosely: every backend has the methods the tests use)."""
    assert devices.lockers is not None
    return devices.lockers  # type: ignore[return-value]


def door_reads(devices: Devices, bay: int, door: DoorState) -> BayState | None:
    state = lockers(devices).read(bay)
    return state if state.door is door else None


def open_bay(devices: Devices, bay: int) -> None:
    lockers(devices).unlock(bay)
    wait_until(lambda: door_reads(devices, bay, DoorState.OPEN), 3.0, f"bay {bay} to read open")


# -- the config ----------------------------------------------------------------------------------------


def test_the_config_points_the_drivers_at_the_simulator(cabinet: SimCabinet, tmp_path: Path) -> None:
    hw = cabinet.hardware_config()
    assert hw.cabinet == cabinet.kind
    assert hw.slots.port == str(tmp_path / "sim" / "slot-controllers")
    assert hw.scanner.port == str(tmp_path / "sim" / "scanner")
    assert (hw.bus_port is None) == (cabinet.kind == "gpio")
    assert [bay.number for bay in hw.bays] == list(range(1, BAYS + 1))


def test_driver_settings_are_kept(cabinet: SimCabinet) -> None:
    hw = cabinet.hardware_config()
    assert (hw.kerong.timeout_s, hw.gpio.debounce_s, hw.slots.timeout_s) == (0.05, 0.01, 0.1)


def test_gpio_bays_never_get_the_entry_door_pins(tmp_path: Path) -> None:
    hw = sim_hardware("gpio", station_hw(), tmp_path)
    pins = [pin for bay in hw.bays for pin in bay.pins()]
    assert "GPIO5" not in pins
    assert "GPIO6" not in pins
    assert len(set(pins)) == len(pins)


def test_a_gpio_cabinet_too_big_for_the_pins_is_refused(tmp_path: Path) -> None:
    hw = station_hw().model_copy(update={"bays": [BayConfig(number=n) for n in range(1, 14)]})
    with pytest.raises(ValueError, match="at most 12 bays"):
        sim_hardware("gpio", hw, tmp_path)


# -- the world at start ----------------------------------------------------------------------------------


def test_the_cabinet_starts_with_batteries_in_all_but_two_bays(cabinet: SimCabinet) -> None:
    bays = cabinet.get_status()["bays"]
    assert [bay["battery"] is not None for bay in bays] == [True, True, True, True, False, False]
    assert all(BATTERY_ID.fullmatch(bay["battery"]["battery_id"]) for bay in bays[:4])
    assert any(bay["battery"]["soc_pct"] >= 95 for bay in bays[:4])
    assert any(bay["battery"]["soc_pct"] < 95 for bay in bays[:4])


def test_read_all_shows_every_door_shut_and_no_fault(devices: Devices) -> None:
    states = lockers(devices).read_all()
    assert sorted(states) == list(range(1, BAYS + 1))
    assert all(state.door is DoorState.CLOSED and state.fault is None for state in states.values())


def test_the_slot_controllers_read_the_initial_batteries(cabinet: SimCabinet, devices: Devices) -> None:
    assert devices.slots is not None
    reading = devices.slots.read(FULL)
    assert reading.present
    assert reading.battery_id == cabinet.get_status()["bays"][0]["battery"]["battery_id"]


# -- a rider ------------------------------------------------------------------------------------------


def test_unlocking_a_bay_opens_its_door(cabinet: SimCabinet, devices: Devices) -> None:
    open_bay(devices, EMPTY)
    assert cabinet.door_open(EMPTY)
    assert cabinet.get_status()["bays"][EMPTY - 1]["door"] == "open"


def test_read_all_shows_the_one_open_door(devices: Devices) -> None:
    open_bay(devices, 2)
    doors = {bay: state.door for bay, state in lockers(devices).read_all().items()}
    assert [bay for bay, door in doors.items() if door is DoorState.OPEN] == [2]


def test_a_battery_inserted_and_the_door_closed_is_read_by_the_drivers(cabinet: SimCabinet, devices: Devices) -> None:
    assert devices.slots is not None
    open_bay(devices, EMPTY)
    cabinet.insert_battery(EMPTY, "SH7654321", soc_pct=23.5, temperature_c=27.0)
    cabinet.close_door(EMPTY)
    wait_until(lambda: door_reads(devices, EMPTY, DoorState.CLOSED), 3.0, "the door to read closed")
    reading = devices.slots.read(EMPTY)
    assert (reading.present, reading.battery_id, reading.soc_pct, reading.temperature_c) == (
        True,
        "SH7654321",
        23.5,
        27.0,
    )


def test_presence_follows_the_battery_where_the_cabinet_senses_it(cabinet: SimCabinet, devices: Devices) -> None:
    open_bay(devices, EMPTY)
    cabinet.insert_battery(EMPTY, "SH7654321")
    expected = None if cabinet.kind == "8a80" else True  # 8A/80 boards have no presence sensor
    wait_until(lambda: lockers(devices).read(EMPTY).presence is expected, 3.0, "presence to follow")


def test_a_battery_taken_is_gone_for_the_slot_controller(cabinet: SimCabinet, devices: Devices) -> None:
    assert devices.slots is not None
    expected = cabinet.get_status()["bays"][FULL - 1]["battery"]["battery_id"]
    open_bay(devices, FULL)
    assert cabinet.take_battery(FULL) == expected
    assert not devices.slots.read(FULL).present


def test_a_battery_cannot_pass_a_shut_door(cabinet: SimCabinet) -> None:
    with pytest.raises(ValueError, match="shut"):
        cabinet.insert_battery(EMPTY, "SH7654321")
    with pytest.raises(ValueError, match="shut"):
        cabinet.take_battery(FULL)


def test_a_bad_battery_id_is_refused(cabinet: SimCabinet, devices: Devices) -> None:
    open_bay(devices, EMPTY)
    with pytest.raises(ValueError, match="SH0000123"):
        cabinet.insert_battery(EMPTY, "bat-1")


def test_batteries_charge_as_time_passes(cabinet: SimCabinet, devices: Devices) -> None:
    assert devices.slots is not None
    before = devices.slots.read(2).soc_pct
    assert before is not None
    assert before < 95
    cabinet.tick(100.0)
    assert devices.slots.read(2).soc_pct == pytest.approx(before + 5.0, abs=0.11)


# -- the scanner ----------------------------------------------------------------------------------------


def test_a_scan_arrives_through_the_serial_scanner_driver(
    cabinet: SimCabinet, devices: Devices, received: ScanRecorder
) -> None:
    assert devices.scanner is not None
    devices.scanner.start()
    wait_until(lambda: devices.scanner is not None and devices.scanner.connected, 3.0, "the scanner to connect")
    cabinet.scan("RK1:ABC123")
    assert wait_until(lambda: received.texts, 3.0, "a scan") == ["RK1:ABC123"]


def test_scans_resume_after_the_scanner_is_unplugged_and_plugged_back(
    cabinet: SimCabinet, devices: Devices, received: ScanRecorder
) -> None:
    scanner = devices.scanner
    assert scanner is not None
    scanner.start()
    wait_until(lambda: scanner.connected, 3.0, "the scanner to connect")
    cabinet.inject("scanner_unplugged")
    wait_until(lambda: scanner.state is ScannerState.DISCONNECTED, 3.0, "the driver to notice the unplug")
    assert not cabinet.get_status()["scanner"]["plugged"]
    cabinet.inject("scanner_unplugged", on=False)
    wait_until(lambda: scanner.connected, 3.0, "the scanner to reconnect")
    cabinet.scan("RK1:AFTER")
    assert wait_until(lambda: received.texts, 3.0, "a scan after the replug") == ["RK1:AFTER"]


# -- faults -------------------------------------------------------------------------------------------


def test_a_jammed_lock_is_pulsed_but_its_door_stays_shut(cabinet: SimCabinet, devices: Devices) -> None:
    cabinet.inject("lock_jammed", bay=EMPTY)
    lockers(devices).unlock(EMPTY)  # the board answers / the relay switches: no error
    wait_until(lambda: cabinet.pulses == [EMPTY], 3.0, "the pulse to reach the lock")
    assert lockers(devices).read(EMPTY).door is DoorState.CLOSED
    assert not cabinet.door_open(EMPTY)
    assert cabinet.get_status()["bays"][EMPTY - 1]["faults"] == ["lock_jammed"]


def test_a_freed_lock_opens_again(cabinet: SimCabinet, devices: Devices) -> None:
    cabinet.inject("lock_jammed", bay=EMPTY)
    cabinet.inject("lock_jammed", bay=EMPTY, on=False)
    open_bay(devices, EMPTY)


def test_a_flapping_door_switch_faults_a_gpio_bay(gpio_cabinet: SimCabinet) -> None:
    with drivers(gpio_cabinet) as devices:
        gpio_cabinet.inject("door_flapping", bay=2)
        reason = wait_until(lambda: lockers(devices).read(2).fault, 3.0, "the bay to be faulted")
        assert "flapping" in str(reason)
        assert lockers(devices).read(2).door is DoorState.UNKNOWN


def test_a_gpio_bay_reads_its_door_again_once_the_flapping_stops_and_the_fault_is_cleared(
    gpio_cabinet: SimCabinet,
) -> None:
    with drivers(gpio_cabinet) as devices:
        gpio_cabinet.inject("door_flapping", bay=2)
        wait_until(lambda: lockers(devices).read(2).fault, 3.0, "the bay to be faulted")
        gpio_cabinet.inject("door_flapping", bay=2, on=False)
        lockers(devices).reset_fault(2)
        wait_until(lambda: door_reads(devices, 2, DoorState.CLOSED), 3.0, "the door to read closed again")


def test_a_flapping_door_switch_on_a_board_shows_as_a_door_changing_between_reads(board_cabinet: SimCabinet) -> None:
    """The RS-485 drivers have no flap detection: each read shows whatever the switch says at that moment."""
    seen: set[DoorState] = set()
    with drivers(board_cabinet) as devices:

        def both_seen() -> bool:
            seen.add(lockers(devices).read(2).door)
            return {DoorState.OPEN, DoorState.CLOSED} <= seen

        board_cabinet.inject("door_flapping", bay=2)
        wait_until(both_seen, 3.0, "reads to show the door both open and closed")
        assert not board_cabinet.door_open(2)
        board_cabinet.inject("door_flapping", bay=2, on=False)
        assert lockers(devices).read(2).door is DoorState.CLOSED


def test_a_door_opened_while_its_switch_flaps_is_open_once_the_flapping_stops(
    cabinet: SimCabinet, devices: Devices
) -> None:
    cabinet.inject("door_flapping", bay=EMPTY)
    lockers(devices).unlock(EMPTY)
    wait_until(lambda: cabinet.door_open(EMPTY), 3.0, "the door to open")
    cabinet.inject("door_flapping", bay=EMPTY, on=False)
    if isinstance(devices.lockers, GpioLockerBank):
        devices.lockers.reset_fault(EMPTY)
    wait_until(lambda: door_reads(devices, EMPTY, DoorState.OPEN), 3.0, "the door to read open")


def test_a_silent_board_faults_its_bays_as_not_answering(board_cabinet: SimCabinet) -> None:
    with drivers(board_cabinet) as devices:
        board_cabinet.inject("board_silent")
        fault = lockers(devices).read(1).fault
        assert fault is not None
        assert "not answering" in fault


def test_a_silent_board_refuses_unlocks(board_cabinet: SimCabinet) -> None:
    with drivers(board_cabinet) as devices:
        board_cabinet.inject("board_silent")
        with pytest.raises(DeviceError, match="not answering"):
            lockers(devices).unlock(1)


def test_a_board_that_answers_again_clears_the_fault(board_cabinet: SimCabinet) -> None:
    with drivers(board_cabinet) as devices:
        board_cabinet.inject("board_silent")
        assert lockers(devices).read(1).fault is not None
        board_cabinet.inject("board_silent", on=False)
        assert lockers(devices).read(1) == BayState(
            bay=1,
            door=DoorState.CLOSED,
            lock=LockState.LOCKED,
            presence=True if board_cabinet.kind == "kerong" else None,
        )


def test_a_silent_board_does_not_apply_to_a_gpio_cabinet(gpio_cabinet: SimCabinet) -> None:
    with pytest.raises(ValueError, match="does not apply to a GPIO cabinet"):
        gpio_cabinet.inject("board_silent")


def test_a_hot_battery_reads_hot_and_cools_down(cabinet: SimCabinet, devices: Devices) -> None:
    assert devices.slots is not None
    cabinet.inject("battery_hot", bay=FULL)
    hot = devices.slots.read(FULL)
    assert (hot.temperature_c, "over_temperature" in hot.fault_flags) == (62.0, True)
    cabinet.inject("battery_hot", bay=FULL, on=False)
    cool = devices.slots.read(FULL)
    assert (cool.temperature_c, cool.fault_flags) == (25.0, frozenset())


def test_heating_an_empty_bay_is_refused(cabinet: SimCabinet) -> None:
    with pytest.raises(ValueError, match="empty"):
        cabinet.inject("battery_hot", bay=EMPTY)


def test_a_silent_slot_controller_reads_as_an_error_and_recovers(cabinet: SimCabinet, devices: Devices) -> None:
    assert devices.slots is not None
    cabinet.inject("slot_silent", bay=3)
    assert devices.slots.read(3).error is not None
    cabinet.inject("slot_silent", bay=3, on=False)
    assert devices.slots.read(3).error is None


def test_faults_are_listed_in_the_worlds_status(cabinet: SimCabinet) -> None:
    cabinet.inject("slot_silent", bay=3)
    cabinet.inject("scanner_unplugged")
    assert cabinet.get_status()["faults"] == [
        {"fault": "scanner_unplugged", "bay": None},
        {"fault": "slot_silent", "bay": 3},
    ]


@pytest.mark.parametrize(
    ("fault", "bay", "message"),
    [("lock_jammed", None, "needs a bay"), ("scanner_unplugged", 1, "not a bay"), ("slot_silent", 42, "no bay 42")],
)
def test_an_impossible_fault_is_refused(cabinet: SimCabinet, fault: str, bay: int | None, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        cabinet.inject(fault, bay=bay)  # type: ignore[arg-type]


# -- the entry door -------------------------------------------------------------------------------------


def entry_door_reads(devices: Devices, door: DoorState) -> bool:
    assert devices.entry_door is not None
    devices.entry_door.poll()
    return devices.entry_door.door is door


def test_the_entry_door_opens_after_a_strike_pulse(cabinet: SimCabinet, devices: Devices) -> None:
    assert devices.entry_door is not None
    devices.entry_door.unlock()
    assert cabinet.get_status()["entry_door"]["strike"] == "released"
    cabinet.open_entry_door()
    wait_until(lambda: entry_door_reads(devices, DoorState.OPEN), 3.0, "the entry door to read open")
    cabinet.close_entry_door()
    wait_until(lambda: entry_door_reads(devices, DoorState.CLOSED), 3.0, "the entry door to read closed")


def test_a_locked_entry_door_does_not_open(cabinet: SimCabinet, devices: Devices) -> None:
    with pytest.raises(ValueError, match="locked"):
        cabinet.open_entry_door()
    assert cabinet.get_status()["entry_door"]["door"] == "closed"


def test_closing_the_cabinet_twice_is_safe(cabinet: SimCabinet) -> None:
    cabinet.close()
    cabinet.close()
    assert cabinet.get_status()["closed"] is True


def test_a_forced_entry_door_opens_while_locked(cabinet: SimCabinet, devices: Devices) -> None:
    cabinet.open_entry_door(force=True)
    wait_until(lambda: entry_door_reads(devices, DoorState.OPEN), 3.0, "the entry door to read open")


def test_a_second_battery_does_not_fit_in_a_bay(cabinet: SimCabinet, devices: Devices) -> None:
    open_bay(devices, FULL)
    with pytest.raises(ValueError, match="already holds"):
        cabinet.insert_battery(FULL, "SH7654321")


# -- the variants the field disagrees on ------------------------------------------------------------


INVERTED: dict[str, dict[str, Any]] = {
    "gpio": {"gpio": LockerSettings(relay_active_high=False, input_pull_up=False, door_closed_when_active=False)},
    "kerong": {"kerong": KerongSettings(locked_bit_value=0, **_BUS)},
    "8a80": {"board8a80": Board8A80Settings(set_means_open=False, unlock_reply_header=0x8A, **_BUS)},
}


@pytest.mark.parametrize("kind", KINDS)
def test_the_simulator_speaks_the_configured_variant(kind: CabinetSimKind, tmp_path: Path) -> None:
    hw = station_hw().model_copy(update=INVERTED[kind])
    with SimCabinet(kind, hw, tmp_path / "sim") as sim:
        sim.start()
        with drivers(sim) as devices:
            assert all(state.door is DoorState.CLOSED for state in lockers(devices).read_all().values())
            open_bay(devices, EMPTY)
            assert sim.door_open(EMPTY)


def test_a_door_switch_can_flap_again_after_it_was_steady(board_cabinet: SimCabinet) -> None:
    seen: set[DoorState] = set()
    with drivers(board_cabinet) as devices:

        def both_seen() -> bool:
            seen.add(lockers(devices).read(2).door)
            return {DoorState.OPEN, DoorState.CLOSED} <= seen

        board_cabinet.inject("door_flapping", bay=2)
        board_cabinet.inject("door_flapping", bay=2, on=False)
        assert lockers(devices).read(2).door is DoorState.CLOSED
        board_cabinet.inject("door_flapping", bay=2)
        wait_until(both_seen, 3.0, "reads to show the door both open and closed")


# -- goods bays (items riders get for points) ---------------------------------------------------------------

GOODS = {7: "water", 8: "snack"}


def goods_hw() -> HardwareConfig:
    """The test station with two goods bays after its battery bays (no slot controller of their own)."""
    hw = station_hw()
    extra = [BayConfig(number=n, lock=n - 1, goods=item) for n, item in GOODS.items()]
    return hw.model_copy(update={"bays": [*hw.bays, *extra]})


@pytest.fixture(params=KINDS)
def goods_cabinet(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SimCabinet]:
    """A started simulated cabinet of each kind with goods bays 7 (water) and 8 (snack)."""
    with SimCabinet(request.param, goods_hw(), tmp_path / "sim", seed=7) as sim:
        sim.start()
        yield sim


@pytest.mark.parametrize("kind", KINDS)
def test_goods_bays_keep_their_item_in_the_simulators_config(kind: CabinetSimKind, tmp_path: Path) -> None:
    hw = sim_hardware(kind, goods_hw(), tmp_path)
    assert {bay.number: bay.goods for bay in hw.bays if bay.goods} == GOODS


def test_goods_bays_start_empty_and_the_battery_bays_as_without_them(goods_cabinet: SimCabinet) -> None:
    bays = goods_cabinet.get_status()["bays"]
    assert [bay["battery"] is not None for bay in bays] == [True, True, True, True, False, False, False, False]


def test_the_world_names_each_goods_bays_item(goods_cabinet: SimCabinet) -> None:
    assert {bay["bay"]: bay["goods"] for bay in goods_cabinet.get_status()["bays"]} == {
        **dict.fromkeys(range(1, BAYS + 1)),
        **GOODS,
    }


def test_the_drivers_open_a_goods_bay_like_any_other(goods_cabinet: SimCabinet) -> None:
    with drivers(goods_cabinet) as devices:
        open_bay(devices, 8)
        assert goods_cabinet.door_open(8)
        goods_cabinet.close_door(8)
        wait_until(lambda: door_reads(devices, 8, DoorState.CLOSED), 3.0, "the goods bay to read closed")


def test_on_gpio_goods_bays_get_no_presence_switch_and_battery_bays_keep_theirs(tmp_path: Path) -> None:
    hw = sim_hardware("gpio", goods_hw(), tmp_path)
    presence = {bay.number: bay.presence_pin is not None for bay in hw.bays}
    assert presence == {**dict.fromkeys(range(1, BAYS + 1), True), 7: False, 8: False}


def test_on_gpio_presence_switches_are_left_out_when_the_pins_do_not_suffice_for_every_bay(tmp_path: Path) -> None:
    # 8 battery bays with presence (24 pins) and 2 goods bays (4) need more than the 24 free pins.
    bays = [BayConfig(number=n) for n in range(1, 9)] + [
        BayConfig(number=9, goods="water"),
        BayConfig(number=10, goods="snack"),
    ]
    hw = sim_hardware("gpio", station_hw().model_copy(update={"bays": bays}), tmp_path)
    assert all(bay.presence_pin is None for bay in hw.bays)
    pins = [pin for bay in hw.bays for pin in bay.pins()]
    assert len(set(pins)) == len(pins) == 20
