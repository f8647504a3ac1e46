"""Register maps as data: the named profiles decoded from raw registers, overrides, and refused fields on a pty."""

from __future__ import annotations

import typing
from collections.abc import Iterator

import pytest
import serial

from kiosk.core.clock import FakeClock
from kiosk.core.errors import ProtocolError
from kiosk.core.hardware import HardwareConfig, SlotSettings
from kiosk.core.slotmap import SLOT_MAPS, RegisterField, SlotMap, SlotMapName
from kiosk.devices.base import BatteryReading
from kiosk.devices.sim.pty import PtyPort
from kiosk.devices.sim.slots import SimBattery, SimSlotControllers, crc_ok, with_crc
from kiosk.devices.slots.modbus import SlotControllers
from kiosk.devices.slots.registers import (
    decode_number,
    decode_reading,
    encode_number,
    encode_reading,
    encode_text,
    plan_reads,
)

JK = SLOT_MAPS["jk-bms"]
SLAVES = {1: 1, 2: 2}


def jk_image(**words: list[int]) -> dict[tuple[int, int], int]:
    """Raw registers of a JK-BMS-style controller holding a battery, with some fields' words replaced."""
    fields: dict[str, list[int]] = {
        "present": [1],
        "charger_state": [1],
        "voltage": [0x0000, 0xCC6C],  # 52332 mV
        "current": [0xFFFF, 0xF63C],  # -2500 mA
        "temperature": [0xFFCE],  # -5.0 °C
        "faults": [0x0010, 0x0020],  # bit 20 (not named) and bit 5 (pack over-voltage)
        "soc": [0x0158],  # low byte: 88 % (the high byte is JK's balancing state)
        "cycles": [0x0001, 0x0005],  # 65541
        "soh": [0x6101],  # high byte: 97 % (the low byte is the precharge state)
    }
    fields.update(words)
    image = {}
    for name, values in fields.items():
        spec = JK.field(name)
        for offset, word in enumerate(values):
            image[(spec.function, spec.address + offset)] = word
    for offset, word in enumerate(encode_text("JK2405A0042", 6, JK.battery_id)):
        image[(3, 0x1428 + offset)] = word
    return image


def test_every_profile_name_is_a_config_choice() -> None:
    assert set(typing.get_args(SlotMapName)) == set(SLOT_MAPS)


def test_a_jk_bms_style_map_decodes_every_field_from_raw_registers() -> None:
    reading = decode_reading(jk_image(), bay=2, regmap=JK)
    assert reading == BatteryReading(
        bay=2,
        present=True,
        battery_id="JK2405A0042",
        soc_pct=88,
        voltage_v=52.332,
        current_a=-2.5,
        temperature_c=-5.0,
        soh_pct=97,
        cycles=65541,
        fault_flags=frozenset({"over_voltage", "unknown_fault_bit_20"}),
        charger_state="charging",
    )


def test_a_jk_bms_style_positive_current_and_temperature() -> None:
    reading = decode_reading(jk_image(current=[0x0000, 0x1388], temperature=[0x0119]), bay=1, regmap=JK)
    assert (reading.current_a, reading.temperature_c) == (5.0, 28.1)


def test_the_jk_bms_style_map_reads_input_and_holding_registers_in_separate_requests() -> None:
    spans = [(span.function, span.start, span.count) for span in plan_reads(JK)]
    assert spans[0] == (4, 0x0000, 2)  # presence and charger state first
    assert (3, 0x1248, 0x5D - 0x48) in spans  # voltage .. soh, across the unmapped registers between
    assert (3, 0x1428, 6) in spans  # the serial number
    assert len(spans) == 3


def test_the_jk_bms_style_map_runs_at_115200_baud_unless_set() -> None:
    assert SlotSettings(map="jk-bms").line_speed() == 115200
    assert SlotSettings(map="jk-bms", baudrate=9600).line_speed() == 9600
    assert SlotSettings().line_speed() == 9600


@pytest.mark.parametrize(
    ("spec", "words", "value"),
    [
        (RegisterField(address=0), [0xFFFF], 65535),
        (RegisterField(address=0, signed=True), [0xFFFF], -1),
        (RegisterField(address=0, signed=True), [0x7FFF], 32767),
        (RegisterField(address=0, signed=True), [0x8000], -32768),
        (RegisterField(address=0, width=32), [0x0001, 0x0002], 0x00010002),
        (RegisterField(address=0, width=32, word_order="little"), [0x0002, 0x0001], 0x00010002),
        (RegisterField(address=0, width=32, signed=True), [0xFFFF, 0xFFFE], -2),
        (RegisterField(address=0, width=32, signed=True, word_order="little"), [0xFFFE, 0xFFFF], -2),
        (RegisterField(address=0, width=32, signed=True), [0x8000, 0x0000], -(2**31)),
        (RegisterField(address=0, width=32, signed=False), [0x8000, 0x0000], 2**31),
        (RegisterField(address=0, width=32, float32=True), [0x4251, 0x5C29], 52.34),
        (RegisterField(address=0, width=32, float32=True, word_order="little"), [0x5C29, 0x4251], 52.34),
        (RegisterField(address=0, width=32, float32=True), [0xC020, 0x0000], -2.5),
        (RegisterField(address=0, scale=0.1), [873], 87.3),
        (RegisterField(address=0, signed=True, scale=0.01), [0xFF6A], -1.5),
    ],
)
def test_raw_registers_decode_by_width_sign_word_order_float_and_scale(
    spec: RegisterField, words: list[int], value: float
) -> None:
    assert decode_number(spec, words) == value
    assert encode_number(spec, value) == words


def test_a_float32_that_is_not_a_number_is_a_protocol_error() -> None:
    spec = RegisterField(address=0, width=32, float32=True)
    with pytest.raises(ProtocolError, match="nan"):
        decode_number(spec, [0x7FC0, 0x0000])


def test_a_float32_field_needs_two_registers() -> None:
    with pytest.raises(ValueError, match="width = 32"):
        RegisterField(address=0, float32=True)


def test_a_value_too_big_for_its_field_is_refused_naming_the_field() -> None:
    reading = BatteryReading(bay=1, present=True, battery_id="B1", soc_pct=50, cycles=70000)
    with pytest.raises(ValueError, match="field cycles"):
        encode_reading(reading)


def test_a_float32_override_decodes_the_pair() -> None:
    settings = SlotSettings.model_validate(
        {"map": "jk-bms", "fields": {"voltage": {"float32": True}, "current": {"float32": True}}}
    )
    regmap = settings.register_map()
    image = jk_image(voltage=[0x4251, 0x5C29], current=[0xC020, 0x0000])
    reading = decode_reading(image, bay=1, regmap=regmap)
    # The scale still applies: the profile counts mV and mA.
    assert (reading.voltage_v, reading.current_a) == (0.05234, -0.0025)


def test_an_impossible_value_names_the_field() -> None:
    with pytest.raises(ProtocolError, match=r"field soc \(FC 03, register 0x1253\): state of charge 120 %"):
        decode_reading(jk_image(soc=[120]), bay=1, regmap=JK)


def test_an_empty_bay_needs_only_presence_and_charger_state() -> None:
    image = {(4, 0): 0, (4, 1): 0}
    assert decode_reading(image, bay=1, regmap=JK) == BatteryReading(bay=1, present=False, charger_state="idle")


def test_config_names_a_profile_and_overrides_one_property_of_one_field() -> None:
    hw = HardwareConfig.model_validate({"slots": {"map": "jk-bms", "fields": {"soc": {"function": 4, "address": 7}}}})
    soc = hw.slots.register_map().soc
    assert (soc.function, soc.address, soc.width, soc.byte, soc.scale) == (4, 7, 8, "low", 1.0)
    assert hw.slots.register_map().voltage == JK.voltage


@pytest.mark.parametrize(
    ("slots", "message"),
    [
        ({"map": "modbus-9000"}, "map"),
        ({"fields": {"state_of_charge": {"address": 3}}}, r"\[fields.state_of_charge\]: no such field"),
        ({"fields": {"battery_id": {"signed": True}}}, r"\[fields.battery_id\]: signed does not apply"),
        ({"fields": {"soc": {"address": 1}}}, "used by both battery_id and soc"),
        ({"fields": {"soc": {"float32": True}}}, "float32 field needs width = 32"),
        ({"fields": {"charger_state": {"scale": 0.1}}}, "charger_state is a whole number"),
        ({"fields": {"soc": {"colour": "red"}}}, "colour"),
    ],
)
def test_a_wrong_map_in_config_is_refused_in_plain_words(slots: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        HardwareConfig.model_validate({"slots": slots})


def test_fault_bits_must_name_the_stations_flags() -> None:
    with pytest.raises(ValueError, match="unknown flags"):
        SlotMap(fault_bits={0: "on_fire"})


# -- through a pty, against the simulated slave of each profile ---------------------------------------------


@pytest.fixture(params=sorted(SLOT_MAPS))
def profile(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def sim(pty_port: PtyPort, profile: str) -> Iterator[SimSlotControllers]:
    """Controllers serving the profile's layout; bay 1 holds a battery, bay 2 is empty."""
    with SimSlotControllers(pty_port, SLAVES, regmap=SLOT_MAPS[profile]) as controllers:
        controllers.insert(1, SimBattery("BAT-77", soc_pct=64.0, temperature_c=-3.5, soh_pct=91.0, cycles=812))
        yield controllers


def driver(port: PtyPort, clock: FakeClock, **settings: object) -> SlotControllers:
    return SlotControllers(port.path, SLAVES, SlotSettings.model_validate({"timeout_s": 0.3, **settings}), clock)


def test_each_profile_is_read_from_its_simulator(
    pty_port: PtyPort, sim: SimSlotControllers, profile: str, fake_clock: FakeClock
) -> None:
    with driver(pty_port, fake_clock, map=profile) as slots:
        reading = slots.read(1)
    assert reading == sim.reading(1)
    assert (reading.battery_id, reading.soc_pct, reading.temperature_c, reading.cycles) == ("BAT-77", 64.0, -3.5, 812)


def test_each_profile_switches_the_charger(
    pty_port: PtyPort, sim: SimSlotControllers, profile: str, fake_clock: FakeClock
) -> None:
    with driver(pty_port, fake_clock, map=profile) as slots:
        slots.set_charger(1, False)
        assert sim.charger_enabled(1) is False
        assert slots.read(1).charger_state == "idle"


def test_an_empty_jk_bay_is_read_without_asking_for_the_battery(pty_port: PtyPort, fake_clock: FakeClock) -> None:
    with SimSlotControllers(pty_port, SLAVES, regmap=JK) as sim, driver(pty_port, fake_clock, map="jk-bms") as slots:
        assert slots.read(2) == BatteryReading(bay=2, present=False, charger_state="idle")
        assert sim.requests == 1


def test_a_field_read_with_a_function_the_controller_lacks_is_a_bay_fault_naming_it(
    pty_port: PtyPort, fake_clock: FakeClock
) -> None:
    # The kiosk-map controller has no input registers at all: FC 04 is an illegal function (exception 01).
    with (
        SimSlotControllers(pty_port, SLAVES) as sim,
        driver(pty_port, fake_clock, retries=0, fields={"soc": {"function": 4}}) as slots,
    ):
        sim.insert(1, SimBattery("BAT-1"))
        reading = slots.read(1)
        assert reading.error == (
            "slot controller 1 refused field soc (FC 04, register 0x0009): exception 01 (illegal function)"
        )
        assert reading.present is False
        status = slots.get_status()
        assert status["warnings"] == [f"bay 1: {reading.error}"]
        assert status["bays"][0]["fault"] == reading.error


def test_a_field_at_an_address_the_controller_lacks_is_a_bay_fault_naming_it(
    pty_port: PtyPort, fake_clock: FakeClock
) -> None:
    with (
        SimSlotControllers(pty_port, SLAVES, regmap=JK) as sim,
        driver(pty_port, fake_clock, map="jk-bms", retries=0, fields={"soh": {"address": 0x1300}}) as slots,
    ):
        sim.insert(1, SimBattery("BAT-1"))
        readings = slots.read_all()
    assert readings[1].error == (
        "slot controller 1 refused field soh (FC 03, register 0x1300): exception 02 (illegal data address)"
    )
    assert readings[2].error is None  # an empty bay: the battery's fields are not asked for


def test_a_refused_span_is_asked_field_by_field_and_the_good_fields_still_count(
    pty_port: PtyPort, fake_clock: FakeClock
) -> None:
    # soc moved next to the others but onto a register the controller lacks: only soc is named.
    with (
        SimSlotControllers(pty_port, SLAVES) as sim,
        driver(pty_port, fake_clock, retries=0, fields={"soc": {"address": 17}}) as slots,
    ):
        sim.insert(1, SimBattery("BAT-1"))
        error = slots.read(1).error
    assert error == "slot controller 1 refused field soc (FC 03, register 0x0011): exception 02 (illegal data address)"


def raw_exchange(port: PtyPort, request: bytes) -> bytes:
    """Send one raw frame to the simulated slaves and return the reply (bounded wait)."""
    with serial.Serial(port.path, timeout=0.5) as line:
        line.write(with_crc(request))
        head = line.read(3)
        if len(head) == 3 and head[1] & 0x80:
            return head + line.read(2)
        return head + line.read(head[2] + 2 if len(head) == 3 else 0)


@pytest.mark.parametrize(
    ("request_body", "reply_body"),
    [
        (bytes.fromhex("0101 0000 0008"), bytes.fromhex("0181 01")),  # read coils: not implemented
        (bytes.fromhex("0104 0000 0001"), bytes.fromhex("0184 01")),  # no input registers in this map
        (bytes.fromhex("012B 0E01 00"), bytes.fromhex("01AB 01")),  # device identification: unknown length
        (bytes.fromhex("0103 0200 0001"), bytes.fromhex("0183 02")),  # register the map does not have
        (bytes.fromhex("0103 0000 007E"), bytes.fromhex("0183 03")),  # more than 125 registers
    ],
)
def test_the_simulated_slave_answers_unsupported_requests_with_modbus_exceptions(
    pty_port: PtyPort, request_body: bytes, reply_body: bytes
) -> None:
    with SimSlotControllers(pty_port, SLAVES):
        reply = raw_exchange(pty_port, request_body)
    assert crc_ok(reply)
    assert reply[:-2] == reply_body


def test_the_jk_simulator_serves_input_registers(pty_port: PtyPort) -> None:
    with SimSlotControllers(pty_port, SLAVES, regmap=JK) as sim:
        sim.insert(1, SimBattery("BAT-1"))
        reply = raw_exchange(pty_port, bytes.fromhex("0104 0000 0002"))
    assert reply[:-2] == bytes.fromhex("0104 04 0001 0001")  # present, charging
