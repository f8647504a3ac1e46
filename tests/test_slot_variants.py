"""How real BMSes present a pack's identity and health, played by the simulated slave and read by the real driver.

JK-PB: byte-addressed registers, SoC and SoH as single bytes beside other values, an 11-character serial
in 6 registers. Ids padded with NUL, spaces or 0xFF, or stored with the first character in the low byte.
A BMS with no SoH register (capacities only). A corrupt id is a bay fault naming the field, never an id.
"""

from __future__ import annotations

import pytest
import serial

from kiosk.core.clock import FakeClock
from kiosk.core.errors import ProtocolError
from kiosk.core.hardware import SlotSettings
from kiosk.core.slotmap import SLOT_MAPS, RegisterField, SlotMap, TextField
from kiosk.devices.base import BatteryReading
from kiosk.devices.sim.pty import PtyPort
from kiosk.devices.sim.slots import SimBattery, SimSlotControllers, crc_ok, with_crc
from kiosk.devices.slots.modbus import SlotControllers
from kiosk.devices.slots.registers import decode_number, decode_reading, decode_text, encode_number, encode_text

PB = SLOT_MAPS["jk-pb"]
CAPACITY = SLOT_MAPS["kiosk-capacity"]
SLAVES = {1: 1}


def driver(port: PtyPort, clock: FakeClock, **settings: object) -> SlotControllers:
    return SlotControllers(port.path, SLAVES, SlotSettings.model_validate({"timeout_s": 0.3, **settings}), clock)


def exchange(port: PtyPort, body: bytes) -> bytes:
    """One raw request to the simulated slave and its reply (bounded wait)."""
    with serial.Serial(port.path, timeout=0.5) as line:
        line.write(with_crc(body))
        head = line.read(3)
        rest = line.read(2 if head[1] & 0x80 else head[2] + 2)
    reply = head + rest
    assert crc_ok(reply)
    return reply[:-2]


# -- JK-PB: byte addressing, single-byte SoC/SoH, the serial number --------------------------------------------


def test_a_jk_pb_register_read_returns_the_bytes_from_that_address_on(pty_port: PtyPort) -> None:
    with SimSlotControllers(pty_port, SLAVES, regmap=PB) as sim:
        sim.insert(1, SimBattery("JK24A000123", soc_pct=50.0))
        # Two registers at 0x1290 are the 4 bytes of the pack voltage (mV, high word first) ...
        voltage = exchange(pty_port, bytes.fromhex("0103 1290 0002"))
        # ... the next register is at 0x1292 (a byte address); the simulator serves only the map's byte addresses.
        odd = exchange(pty_port, bytes.fromhex("0103 1291 0001"))
    assert int.from_bytes(voltage[3:7], "big") == round(sim.reading(1).voltage_v * 1000)
    assert odd == bytes.fromhex("0183 02")


def test_a_jk_pb_pack_is_read_whole_and_its_neighbouring_bytes_are_not_soc_or_soh(
    pty_port: PtyPort, fake_clock: FakeClock
) -> None:
    with SimSlotControllers(pty_port, SLAVES, regmap=PB) as sim, driver(pty_port, fake_clock, map="jk-pb") as slots:
        sim.insert(1, SimBattery("JK24A000123", soc_pct=64.0, soh_pct=91.0, cycles=70_001))
        soc_word = exchange(pty_port, bytes.fromhex("0103 12A6 0001"))
        reading = slots.read(1)
    assert soc_word[3] == 0x01  # the high byte is JK's balancing state, set here
    assert (reading.battery_id, reading.soc_pct, reading.soh_pct, reading.cycles) == ("JK24A000123", 64, 91, 70_001)
    assert reading.error is None


def test_the_jk_serial_is_eleven_characters_and_the_twelfth_byte_belongs_to_the_next_field() -> None:
    spec = PB.battery_id
    words = encode_text("JK24A000123", 6, spec)
    assert words[-1] & 0xFF == ord("0")  # the next field's (printable) byte
    assert decode_text(words, spec) == "JK24A000123"
    whole = TextField(address=spec.address, length=6)  # the same registers read without chars
    assert decode_text(words, whole) == "JK24A0001230"  # a different, made-up id: why chars matters


def test_the_jk_bms_remapped_profile_and_jk_pb_report_the_same_pack(pty_port: PtyPort, fake_clock: FakeClock) -> None:
    readings = []
    for name in ("jk-bms", "jk-pb"):
        with (
            SimSlotControllers(pty_port, SLAVES, regmap=SLOT_MAPS[name]) as sim,
            driver(pty_port, fake_clock, map=name) as slots,
        ):
            sim.insert(1, SimBattery("JK24A000777", soc_pct=33.0, soh_pct=88.0, cycles=412, temperature_c=-4.5))
            readings.append(slots.read(1))
    assert readings[0] == readings[1]
    assert readings[0].battery_id == "JK24A000777"


# -- the id: padding, byte order, garbage ---------------------------------------------------------------------


@pytest.mark.parametrize("padding", [b"\x00", b" ", b"\xff"], ids=["nul", "space", "erased-flash"])
def test_an_id_padded_with_nul_spaces_or_erased_flash_reads_as_the_id(
    pty_port: PtyPort, fake_clock: FakeClock, padding: bytes
) -> None:
    with SimSlotControllers(pty_port, SLAVES, id_padding=padding) as sim, driver(pty_port, fake_clock) as slots:
        sim.insert(1, SimBattery("SH9000001"))
        raw = exchange(pty_port, bytes.fromhex("0103 0001 0008"))
        reading = slots.read(1)
    assert raw[3 + 9 : 3 + 16] == padding * 7  # what the controller really sends after the 9 characters
    assert reading.battery_id == "SH9000001"


@pytest.mark.parametrize(
    ("battery_id", "misread"),
    [("SH90000001", "HS09000010"), ("SH9000001", None)],
    ids=["even-length", "odd-length"],
)
def test_an_id_stored_low_byte_first_is_read_with_that_byte_order(
    pty_port: PtyPort, fake_clock: FakeClock, battery_id: str, misread: str | None
) -> None:
    little = {"fields": {"battery_id": {"byte_order": "little"}}}
    with SimSlotControllers(pty_port, SLAVES, regmap=SlotSettings.model_validate(little).register_map()) as sim:
        sim.insert(1, SimBattery(battery_id))
        with driver(pty_port, fake_clock, **little) as slots:
            right = slots.read(1)
        with driver(pty_port, fake_clock) as slots:
            wrong = slots.read(1)
    assert right.battery_id == battery_id
    # Read in the wrong byte order an even-length id is another printable string (the registry refuses it as
    # unknown); an odd-length one puts its NUL padding inside the text: a bay fault naming the field.
    assert wrong.battery_id == misread
    if misread is None:
        assert wrong.error is not None
        assert "field battery_id" in wrong.error


@pytest.mark.parametrize(
    "raw",
    [b"SH9\x01\x9f00001", b"\x80\x81\x82\x83", b"SH9000001\x00\x07"],
    ids=["control-and-high-bytes", "all-garbage", "garbage-after-the-nul"],
)
def test_a_corrupt_id_is_a_bay_fault_naming_the_field_never_an_id(
    pty_port: PtyPort, fake_clock: FakeClock, raw: bytes
) -> None:
    with SimSlotControllers(pty_port, SLAVES) as sim, driver(pty_port, fake_clock, retries=0) as slots:
        sim.insert(1, SimBattery("SH9000001"))
        sim.corrupt_id(1, raw)
        reading = slots.read(1)
        status = slots.get_status()
    assert reading.battery_id is None
    assert reading.error is not None
    assert reading.error.startswith(
        "slot controller 1 sent impossible values: field battery_id (FC 03, register 0x0001): holds non-printable bytes"
    )
    assert status["bays"][0]["fault"] == reading.error
    assert status["warnings"] == [f"bay 1: {reading.error}"]


def test_an_id_field_of_only_padding_is_no_id(pty_port: PtyPort, fake_clock: FakeClock) -> None:
    with SimSlotControllers(pty_port, SLAVES) as sim, driver(pty_port, fake_clock) as slots:
        sim.insert(1, SimBattery("SH9000001"))
        sim.corrupt_id(1, b"\xff" * 16)  # a BMS whose id was never written
        reading = slots.read(1)
    assert (reading.present, reading.battery_id, reading.error) == (True, None, None)


# -- SoH derived from capacities ------------------------------------------------------------------------------


def test_a_bms_without_soh_has_it_derived_from_full_charge_and_design_capacity(
    pty_port: PtyPort, fake_clock: FakeClock
) -> None:
    with (
        SimSlotControllers(pty_port, SLAVES, regmap=CAPACITY) as sim,
        driver(pty_port, fake_clock, map="kiosk-capacity") as slots,
    ):
        sim.insert(1, SimBattery("SH9000001", soh_pct=64.5))
        registers = (
            exchange(pty_port, bytes.fromhex("0103 000D 0001")),
            exchange(pty_port, bytes.fromhex("0103 0011 0001")),
        )
        reading = slots.read(1)
    full, design = (int.from_bytes(r[3:5], "big") for r in registers)
    assert (full, design) == (1290, 2000)  # 12.90 Ah learnt of 20.00 Ah rated
    assert reading.soh_pct == 64.5


def capacity_image(full: int, design: int) -> dict[tuple[int, int], int]:
    image = {(3, a): 0 for a in range(18)}
    image.update({(3, 0): 1, (3, 9): 500, (3, 13): full, (3, 17): design})
    image.update({(3, 1 + i): w for i, w in enumerate(encode_text("SH9000001", 8))})
    return image


def test_a_pack_that_learnt_more_than_its_rating_is_whole_not_above() -> None:
    assert decode_reading(capacity_image(2062, 2000), bay=1, regmap=CAPACITY).soh_pct == 100.0


def test_a_design_capacity_of_zero_is_a_protocol_error_naming_the_field() -> None:
    with pytest.raises(ProtocolError, match=r"field design_capacity \(FC 03, register 0x0011\): capacities"):
        decode_reading(capacity_image(1800, 0), bay=1, regmap=CAPACITY)


def test_a_map_without_soh_needs_both_capacities() -> None:
    with pytest.raises(ValueError, match="without soh needs full_capacity and design_capacity"):
        SlotMap(soh=None, full_capacity=RegisterField(address=20))


# -- how numbers are written ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "words", "value"),
    [
        (RegisterField(address=0, width=8, byte="high"), [0x6101], 97),
        (RegisterField(address=0, width=8, byte="low"), [0x0158], 88),
        (RegisterField(address=0, width=8, byte="low", signed=True), [0x01FB], -5),
        (RegisterField(address=0, offset=40), [65], 25),  # Daly: temperature + 40
        (RegisterField(address=0, offset=30000, scale=0.1), [29975], -2.5),  # Daly: current + 30000, 0.1 A
        (RegisterField(address=0, width=32, offset=0, scale=0.001), [0x0000, 0xCC6C], 52.332),
    ],
)
def test_single_bytes_and_offset_numbers_decode_and_encode(spec: RegisterField, words: list[int], value: float) -> None:
    assert decode_number(spec, words) == value
    # Encoding writes only the field's own byte of an 8-bit field.
    own = (0xFF00 if spec.byte == "high" else 0x00FF) if spec.width == 8 else 0xFFFF
    assert encode_number(spec, value) == [word & own for word in words]


def test_a_value_reported_as_missing_is_no_reading_naming_the_field() -> None:
    regmap = SlotSettings.model_validate({"fields": {"temperature": {"missing": [0x7FFF, 0x8000]}}}).register_map()
    image = {(3, a): 0 for a in range(17)}
    image.update({(3, 0): 1, (3, 12): 0x8000, (3, 13): 970})  # present; temperature: the "no sensor" value
    with pytest.raises(
        ProtocolError, match=r"field temperature \(FC 03, register 0x000C\): reports no value \(0x8000\)"
    ):
        decode_reading(image, bay=1, regmap=regmap)


def test_a_text_field_cannot_hold_more_characters_than_its_registers() -> None:
    with pytest.raises(ValueError, match="chars = 13 does not fit 6 registers"):
        TextField(address=0, length=6, chars=13)


def test_an_empty_bay_of_every_profile_reads_as_empty(pty_port: PtyPort, fake_clock: FakeClock) -> None:
    for name in ("kiosk-capacity", "jk-pb"):
        with SimSlotControllers(pty_port, SLAVES, regmap=SLOT_MAPS[name]), driver(pty_port, fake_clock, map=name) as s:
            assert s.read(1) == BatteryReading(bay=1, present=False, charger_state="idle")
