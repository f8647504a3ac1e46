"""The hardware part of the configuration, and the settings every driver takes.

Each driver's settings class is defined here (not beside the driver) because the config schema is in
``kiosk.core`` and core imports nothing of ours: one definition serves the TOML file, ``kiosk config
example`` and the driver. Facts and defaults come from HARDWARE.md; where sources disagree, the
disagreement is a setting.
"""

from __future__ import annotations

import enum
import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field, field_validator, model_validator

from kiosk.core.airmap import AIR_MAPS, AirMap, AirSensorModel
from kiosk.core.boards import board_profile
from kiosk.core.schema import Section
from kiosk.core.slotmap import SLOT_MAPS, FieldOverride, SlotMap, SlotMapName


def _pin_name(value: str) -> str:
    if not re.fullmatch(r"GPIO([0-9]|1[0-9]|2[0-7])", value):
        raise ValueError(f"expected a pin name like 'GPIO17' (GPIO0-GPIO27), got {value!r}")
    return value


PinName = Annotated[str, AfterValidator(_pin_name), Field(examples=["GPIO17"])]
"""A Broadcom pin name as gpiozero takes it: GPIO0 … GPIO27."""

Seconds = Annotated[float, Field(gt=0)]


# --- lock boards on RS-485 ------------------------------------------------------------------


class BusSettings(Section):
    """What every RS-485 lock board bus shares: patience and reconnection."""

    timeout_s: Annotated[float, Field(gt=0, le=5)] = 0.2
    """How long to wait for a status reply (s)."""
    unlock_timeout_s: Annotated[float, Field(gt=0, le=10)] = 1.0
    """How long to wait for an unlock reply (s); it can come late while the lock moves."""
    retries: Annotated[int, Field(ge=0, le=10)] = 3
    """Extra attempts after the first when no good reply arrives."""
    retry_delay_s: Annotated[float, Field(ge=0, le=5)] = 0.05
    """Pause before the first retry (s); doubles for each further one."""
    reopen_min_s: Seconds = 0.5
    """First wait before reopening the adapter after it vanished (s)."""
    reopen_max_s: Seconds = 30.0
    """Longest wait between attempts to reopen the adapter (s)."""
    confirm_s: Annotated[float, Field(gt=0, le=10)] = 2.0
    """After an unlock got no reply: how long the lock's state is read to see it open (s). The unlock
    itself is never sent again; only when this time passes without an open lock is it a failed unlock."""
    confirm_poll_s: Annotated[float, Field(ge=0, le=2)] = 0.1
    """Pause between two state reads while confirming an unlock (s)."""


class KerongSettings(BusSettings):
    """Kerong KR-CU16/CU12 boards (19200 8N1, frames ``02 addr cmd 03 sum``)."""

    baudrate: Annotated[int, Field(ge=1200, le=115200)] = 19200
    """Line speed (8N1); the boards ship at 19200."""
    locked_bit_value: Literal[0, 1] = 1
    """The lock-bit value that means closed and locked (sources disagree; 1 on most boards)."""
    pulse_ms: Annotated[int | None, Field(ge=10, le=2550)] = 500
    """Unlock pulse sent to each board before its first unlock (ms): ~500 electromagnetic, ~1000 motor locks."""
    locks_per_board: Annotated[int, Field(ge=1, le=16)] = 16
    """Locks one board drives: 16 on a KR-CU16, 12 on a KR-CU12."""
    pulse_form: Literal["short", "long", "auto"] = "auto"
    """Form of the unlock-time command 0x37: 'short' (6 bytes, one data byte), 'long' (7 bytes, two data
    bytes), or 'auto' (short first, long when a board does not confirm it); both forms exist in the field."""


class Board8A80Settings(BusSettings):
    """Generic 8A/80 boards (9600 8N1, XOR checksum, DIP-switch address 1-32)."""

    baudrate: Annotated[int, Field(ge=1200, le=115200)] = 9600
    """Line speed (8N1)."""
    set_means_open: bool = True
    """True when a reply of 11 (or a set bit in query-all) means open; false when it means closed."""
    unlock_reply_header: Literal[0x80, 0x8A] = 0x80
    """First byte of a board's unlock reply: 0x80 on most boards, 0x8A on those that echo the command."""
    strict_unlock_header: bool = False
    """Accept only unlock_reply_header; by default an unlock reply of either known header (80 or the 8A
    echo) counts, since boards of one model differ."""
    locks_per_board: Annotated[int, Field(ge=1, le=32)] = 24
    """Lock channels one board drives (8, 24 or 32 are common)."""
    board_max: Annotated[int, Field(ge=1, le=0xC8)] = 32
    """Highest board address accepted: 32 on DIP-switch boards, up to 0xC8 (200) on some."""
    status_bytes: Literal[3, 4] | None = None
    """Status bytes in a query-all answer: 4 (8-byte frame), 3 (7-byte frame, 24-lock boards), or unset
    to accept either."""


# --- GPIO lockers and the entry door ------------------------------------------------------------


class LockerSettings(Section):
    """How GPIO lockers are wired and timed (shared by every bay of a bank)."""

    relay_active_high: bool = True
    """True when driving the pin high energises the relay (and opens the lock)."""
    pulse_s: Annotated[float, Field(gt=0, le=10)] = 0.5
    """Length of an unlock pulse (s): ~0.5 for electromagnetic locks, ~1.0 for motor locks."""
    input_pull_up: bool = True
    """Use the Pi's pull-up on switch inputs (switch wired to ground); false for pull-down."""
    door_closed_when_active: bool = True
    """True when an active door input (reed closed by the magnet) means the door is closed."""
    presence_when_active: bool = True
    """True when an active presence input means something is in the bay."""
    debounce_s: Annotated[float, Field(ge=0, le=1)] = 0.05
    """A switch reading counts once it has been steady this long (s)."""
    flap_max_changes: Annotated[int, Field(ge=1)] = 10
    """More raw changes than this within flap_window_s mark the bay faulted."""
    flap_window_s: Seconds = 2.0
    """Window (s) for flap_max_changes."""


class EntryDoorSettings(LockerSettings):
    """Wiring and timing of the entry door (the locker settings, with a strike's longer pulse)."""

    pulse_s: Annotated[float, Field(gt=0, le=10)] = 3.0
    """How long the strike is released per unlock (s): long enough to push the door open."""
    open_alarm_s: Seconds = 90.0
    """A door open longer than this raises an alarm (s)."""


class EntryDoorConfig(EntryDoorSettings):
    """The entry door: a strike relay and a door switch on GPIO. Leave the pins out if there is no door."""

    lock_pin: PinName | None = None
    """GPIO of the door strike relay."""
    door_pin: PinName | None = None
    """GPIO of the door's reed switch."""

    @model_validator(mode="after")
    def _both_or_neither(self) -> EntryDoorConfig:
        if (self.lock_pin is None) != (self.door_pin is None):
            raise ValueError("the entry door needs both lock_pin and door_pin (or neither, for no door)")
        return self

    @property
    def present(self) -> bool:
        """Whether the station has an entry door."""
        return self.lock_pin is not None


# --- slot controllers (Modbus RTU) ---------------------------------------------------------------


class SlotSettings(Section):
    """The slot controllers' bus and how patiently to ask them."""

    baudrate: Annotated[int | None, Field(ge=1200, le=115200, examples=[9600])] = None
    """Bus speed (bits/s); unset: the map profile's speed (kiosk 9600, jk-bms 115200)."""
    parity: Literal["N", "E", "O"] = "N"
    """Parity: 'N' none, 'E' even (the Modbus standard's default), 'O' odd."""
    stopbits: Literal[1, 2] = 1
    """Stop bits."""
    timeout_s: Annotated[float, Field(gt=0, le=5)] = 0.3
    """How long to wait for one reply (s); a controller answers in a few tens of ms."""
    retries: Annotated[int, Field(ge=0, le=5)] = 1
    """Extra attempts after a request got no (valid) reply."""
    silent_retry_s: Annotated[float, Field(ge=0)] = 5.0
    """While a controller is silent, read_all asks it again at most this often (s)."""
    # -- register map profile (issue 15) --
    map: SlotMapName = "kiosk"
    """Register-map profile of the controllers: 'kiosk' (the project's map), 'kiosk-capacity' (no SoH register:
    derived from capacities), 'jk-pb' (a JK-PB BMS read as it is) or 'jk-bms' (JK data re-mapped to registers)."""
    fields: dict[str, FieldOverride] = Field(default_factory=dict)
    """Per-field changes to the profile, e.g. [hardware.slots.fields.soc] address = 4660, scale = 0.1."""

    @model_validator(mode="after")
    def _map_resolves(self) -> SlotSettings:
        self.register_map()
        return self

    def line_speed(self) -> int:
        """The bus speed in use: ``baudrate``, or the speed controllers of the map's model ship with."""
        return self.baudrate if self.baudrate is not None else SLOT_MAPS[self.map].baudrate

    def register_map(self) -> SlotMap:
        """The profile named by ``map`` with ``fields`` applied; ValueError naming the field if impossible."""
        return SLOT_MAPS[self.map].with_overrides(self.fields)


class SlotConfig(SlotSettings):
    """Slot controllers behind the bays (Modbus RTU). Leave port out on cabinets without them."""

    port: Annotated[str | None, Field(examples=["/dev/serial/by-id/usb-1a86_USB_Serial-if00-port0"])] = None
    """RS-485 adapter of the slot controllers, by stable path; unset when there are none."""
    poll_s: Annotated[float, Field(gt=0, le=600)] = 0.5
    """How often every battery is read (s), from the start of one sweep of the bus to the next. 0.5 s keeps a
    dangerous reading within 1 s of the charger-off write for 8 controllers at 9600 baud (docs/safety.md)."""


# --- the QR scanner ----------------------------------------------------------------------------


class TriggerProtocol(enum.Enum):
    """Which command asks a serial scanner for one scan."""

    NONE = "none"
    GM65 = "gm65"
    HONEYWELL = "honeywell"


class Gm65Check(enum.Enum):
    """How a GM65 command frame is closed: a real CRC or the module's accepted ``AB CD`` placeholder."""

    CRC = "crc"
    ABCD = "abcd"


class ScannerSettings(Section):
    """What every scanner driver needs: how codes are cut, how reading waits, how reopening backs off."""

    idle_gap_s: Annotated[float | None, Field(gt=0, le=5)] = 0.05
    """A pause this long ends a code sent without a terminator (s); unset: only CR/LF end codes."""
    max_length: Annotated[int, Field(ge=1, le=4096)] = 512
    """Longest code accepted, in bytes; longer ones are reported as a bad scan."""
    encoding: Literal["ascii", "utf-8"] = "utf-8"
    """Text encoding of the codes."""
    read_timeout_s: Annotated[float, Field(gt=0, le=5)] = 0.05
    """Longest a single read blocks (s); bounds how late an idle gap or a close is noticed."""
    reconnect_initial_s: Seconds = 0.5
    """First wait before reopening a scanner that went away (s); doubles on each failure."""
    reconnect_max_s: Seconds = 10.0
    """Cap of the reopening wait (s)."""
    join_timeout_s: Seconds = 2.0
    """How long stopping waits for the reader thread (s)."""

    @model_validator(mode="after")
    def _backoff_order(self) -> ScannerSettings:
        if self.reconnect_max_s < self.reconnect_initial_s:
            raise ValueError("reconnect_max_s must not be below reconnect_initial_s")
        return self


class SerialScannerSettings(ScannerSettings):
    """A serial scanner (USB-CDC or UART), on top of the framing and reconnect settings."""

    baudrate: Annotated[int, Field(ge=1200, le=921600)] = 9600
    """Line speed; scanner modules default to 9600 8N1."""
    write_timeout_s: Seconds = 1.0
    """Longest a command write may block (s)."""
    trigger: TriggerProtocol = TriggerProtocol.GM65
    """Which command asks for a scan: 'gm65' frame, 'honeywell' SYN T CR, or 'none'."""
    gm65_check: Gm65Check = Gm65Check.ABCD
    """Close the GM65 trigger command with a real CRC-16/XMODEM ('crc') or the AB CD placeholder ('abcd');
    save, write and read frames always carry the real CRC."""
    reply_window_s: Seconds = 0.5
    """How long after a GM65 command its 02 00 00 reply is looked for in the stream (s)."""


class EvdevScannerSettings(ScannerSettings):
    """A keyboard-mode scanner (Linux evdev), on top of the framing and reconnect settings."""

    idle_gap_s: Annotated[float | None, Field(gt=0, le=5)] = 0.2
    """Keyboard wedges type with per-key delays, so their gap is longer than a serial line's (s)."""
    grab: bool = True
    """Take the device exclusively so its keystrokes reach no other program (off only for debugging)."""


class ScannerConfig(Section):
    """The QR code scanner."""

    kind: Literal["none", "serial", "evdev"] = "none"
    """'serial' (USB-CDC or UART), 'evdev' (USB keyboard mode), or 'none'."""
    port: Annotated[str | None, Field(examples=["/dev/serial/by-id/usb-SM_GM65_Scanner-if00"])] = None
    """Serial port by stable path, 'usb:VID:PID' (hex), or the evdev device path (/dev/input/by-id/...)."""
    serial: SerialScannerSettings = SerialScannerSettings()
    """Settings of a serial scanner."""
    evdev: EvdevScannerSettings = EvdevScannerSettings()
    """Settings of a keyboard-mode scanner."""

    @model_validator(mode="after")
    def _port_when_used(self) -> ScannerConfig:
        if self.kind != "none" and not self.port:
            raise ValueError(f"a '{self.kind}' scanner needs port")
        return self


# --- bays and the cabinet ------------------------------------------------------------------------


class BayConfig(Section):
    """One battery bay of the cabinet."""

    number: Annotated[int, Field(ge=1, le=99, examples=[1])]
    """Bay number as printed on the cabinet door (1-based)."""
    board: Annotated[int, Field(ge=0, le=0xC8)] = 0
    """Lock board address on the RS-485 bus: 0-15 for Kerong, the DIP-switch address 1-32 (up to 200 on
    some boards) for 8A/80."""
    lock: Annotated[int, Field(ge=0, le=31)] = 0
    """Lock channel on that board, counted from 0 (channel 0 is the board's lock 1)."""
    lock_pin: PinName | None = None
    """GPIO of the lock relay (GPIO cabinets)."""
    door_pin: PinName | None = None
    """GPIO of the door reed switch (GPIO cabinets)."""
    presence_pin: Annotated[PinName | None, Field(examples=["GPIO24"])] = None
    """GPIO of the battery-presence switch, if the bay has one."""
    slave: Annotated[int | None, Field(ge=1, le=247, examples=[1])] = None
    """Modbus slave address of the bay's slot controller, if it has one."""
    goods: Annotated[str | None, Field(min_length=1, max_length=32, examples=["water"])] = None
    """Catalogue item id this bay hands out for points (a goods bay never takes part in battery swaps)."""

    def pins(self) -> list[str]:
        """The GPIO pins this bay uses."""
        return [p for p in (self.lock_pin, self.door_pin, self.presence_pin) if p is not None]


# --- the cabinet's safety outputs and inputs ---------------------------------------------------


class SafetyIoConfig(Section):
    """What the safety supervisor drives and watches besides the bays (docs/safety.md: what to wire).

    Every output is a relay on a GPIO pin with an explicit active level. The chargers' mains relay is
    wired so that its pin must be driven for the chargers to have power: when kiosk-core stops, or its
    pins float, the chargers lose mains — nothing charges unsupervised.
    """

    fan_pin: PinName | None = None
    """GPIO of the cabinet fan's relay."""
    fan_active_high: bool = True
    """Whether the fan relay switches on when its pin is high."""
    mains_pin: PinName | None = None
    """GPIO of the chargers' mains contactor (energised = mains on)."""
    mains_active_high: bool = True
    """Whether the mains contactor closes when its pin is high."""
    extinguisher_pin: PinName | None = None
    """GPIO that releases the cabinet's extinguisher."""
    bay_extinguisher_pins: dict[int, PinName] = Field(default_factory=dict)
    """GPIO that releases each bay's own extinguisher, by bay number (for cabinets that have them)."""
    extinguisher_active_high: bool = True
    """Whether an extinguisher releases when its pin is high."""
    extinguisher_pulse_s: Annotated[float, Field(gt=0, le=30)] = 2.0
    """How long an extinguisher's release pin is driven (s)."""
    smoke_pin: PinName | None = None
    """GPIO of the smoke detector's alarm contact."""
    smoke_active_high: bool = True
    """Whether the smoke contact reads high in alarm (wire a normally-closed contact to ground with the
    pull-up on: a cut wire then reads as smoke, which is the safe side)."""
    # -- the cabinet's temperature/humidity sensor --
    cabinet_sensor: Literal["none", "modbus"] = "none"
    """The cabinet's air temperature/humidity sensor: 'modbus' (an RS-485 transmitter such as the XY-MD02)
    or 'none'."""
    cabinet_sensor_model: AirSensorModel = "xy-md02"
    """Its register map: 'xy-md02' (FC 04, registers 1-2), 'xy-md02-holding' (FC 03, 1-2), 'th-holding'
    (FC 03, temperature 0, humidity 1), 'th-holding-rh-first' (FC 03, humidity 0, temperature 1);
    see docs/safety.md."""
    cabinet_sensor_address: Annotated[int, Field(ge=1, le=247)] = 1
    """Its Modbus slave address (factory default 1: on the slot controllers' bus change it to one no bay uses)."""
    cabinet_sensor_port: Annotated[str | None, Field(examples=["/dev/serial/by-id/usb-1a86_USB_Serial-if00-port0"])] = (
        None
    )
    """Its own RS-485 adapter; unset: it shares the slot controllers' bus (and speed, parity, stop bits)."""
    cabinet_sensor_poll_s: Annotated[float, Field(ge=0.5, le=600)] = 5.0
    """How often the cabinet air is read (s); air changes slowly and a read takes the bus for ~25 ms."""
    cabinet_sensor_fields: dict[str, FieldOverride] = Field(default_factory=dict)
    """Per-field changes to the model's map, e.g. [hardware.safety.cabinet_sensor_fields.temperature] address = 0."""

    @model_validator(mode="after")
    def _air_map_resolves(self) -> SafetyIoConfig:
        self.air_map()
        return self

    def air_map(self) -> AirMap:
        """The cabinet sensor's register map with ``cabinet_sensor_fields`` applied."""
        return AIR_MAPS[self.cabinet_sensor_model].with_overrides(self.cabinet_sensor_fields)

    def pins(self) -> list[str]:
        """Every GPIO pin these outputs and inputs use."""
        fixed = [self.fan_pin, self.mains_pin, self.extinguisher_pin, self.smoke_pin]
        return [p for p in fixed if p is not None] + list(self.bay_extinguisher_pins.values())


CabinetKind = Literal["none", "gpio", "kerong", "8a80"]


class HardwareConfig(Section):
    """What the station is wired to."""

    cabinet: CabinetKind = "none"
    """Locker backend: 'gpio', 'kerong' (KR-CU16/CU12), '8a80' (generic board), or 'none'."""
    board_model: Annotated[str | None, Field(examples=["kerong-cu16"])] = None
    """Lock-board model (kerong-cu16, kerong-cu12, 8a80-8, 8a80-24, 8a80-32; see docs/hardware.md): sets the
    board settings (speed, lock count, addresses, frame variants, timings); any field written in
    [hardware.kerong] or [hardware.board8a80] still wins. Implies the cabinet kind when cabinet is not set."""
    bus_port: Annotated[str | None, Field(examples=["/dev/serial/by-id/usb-FTDI_FT232R_USB_UART-if00-port0"])] = None
    """RS-485 adapter of the lock boards, by stable path (/dev/serial/by-id/...)."""
    poll_s: Annotated[float, Field(gt=0, le=10)] = 0.25
    """How often the bays' doors and locks are read (s)."""
    door_flap_max_changes: Annotated[int, Field(ge=2)] = 6
    """Lock-board cabinets: a door reported changing more often than this within door_flap_window_s is
    marked faulted (GPIO cabinets judge every raw edge with the [hardware.gpio] flap settings)."""
    door_flap_window_s: Seconds = 5.0
    """Window (s) for door_flap_max_changes."""
    bays: list[BayConfig] = Field(default_factory=list)
    """The bays, one [[hardware.bays]] table each."""
    gpio: LockerSettings = LockerSettings()
    """GPIO lockers (cabinet 'gpio')."""
    kerong: KerongSettings = KerongSettings()
    """Kerong lock boards (cabinet 'kerong')."""
    board8a80: Board8A80Settings = Board8A80Settings()
    """Generic 8A/80 lock boards (cabinet '8a80')."""
    slots: SlotConfig = SlotConfig()
    """Slot controllers reading the batteries."""
    scanner: ScannerConfig = ScannerConfig()
    """The QR scanner."""
    entry_door: EntryDoorConfig = EntryDoorConfig()
    """The entry door."""
    safety: SafetyIoConfig = SafetyIoConfig()
    """The cabinet's fan, chargers' mains relay, extinguishers and smoke detector."""

    # --- board profiles (issue 15) ---------------------------------------------------------------

    @model_validator(mode="before")
    @classmethod
    def _apply_board_model(cls, data: object) -> object:
        """Fill the board settings from ``board_model``'s profile; fields given in the config win."""
        if not isinstance(data, dict) or data.get("board_model") is None:
            return data
        profile = board_profile(str(data["board_model"]))
        out = dict(data)
        cabinet = out.get("cabinet", "none")
        if cabinet == "none":
            out["cabinet"] = profile.family
        elif cabinet != profile.family:
            raise ValueError(f"board_model {profile.name!r} is a {profile.family!r} board, but cabinet is {cabinet!r}")
        section = "kerong" if profile.family == "kerong" else "board8a80"
        given = out.get(section, {})
        if isinstance(given, BaseModel):
            given = given.model_dump(exclude_unset=True)
        if not isinstance(given, dict):
            return out  # let the field's own validation explain it
        out[section] = {**profile.settings, **given}
        return out

    def _board_problems(self) -> list[str]:
        """Bays the chosen board settings cannot address (lock count, address range)."""
        problems: list[str] = []
        for bay in self.bays:
            if self.cabinet == "kerong" and bay.lock >= self.kerong.locks_per_board:
                problems.append(
                    f"bay {bay.number}: lock {bay.lock} is beyond the {self.kerong.locks_per_board} locks of a board"
                )
            if self.cabinet == "8a80" and bay.lock >= self.board8a80.locks_per_board:
                problems.append(
                    f"bay {bay.number}: lock channel {bay.lock} is beyond the {self.board8a80.locks_per_board} "
                    "channels of a board"
                )
            if self.cabinet == "8a80" and bay.board > self.board8a80.board_max:
                problems.append(
                    f"bay {bay.number}: board address {bay.board} is above board_max {self.board8a80.board_max}"
                )
        return problems

    # --- end of board profiles -------------------------------------------------------------------

    @field_validator("bays")
    @classmethod
    def _unique_bays(cls, bays: list[BayConfig]) -> list[BayConfig]:
        seen: set[int] = set()
        for bay in bays:
            if bay.number in seen:
                raise ValueError(f"bay number {bay.number} appears twice")
            seen.add(bay.number)
        return bays

    @model_validator(mode="after")
    def _fits_the_cabinet(self) -> HardwareConfig:
        problems: list[str] = []
        if self.cabinet in ("kerong", "8a80") and not self.bus_port:
            problems.append(f"cabinet '{self.cabinet}' needs bus_port (the RS-485 adapter's path)")
        problems.extend(self._board_problems())
        for bay in self.bays:
            problems.extend(_bay_problems(self.cabinet, bay))
            if self.slots.port and bay.slave is None and bay.goods is None:
                problems.append(f"bay {bay.number} has no slave address but slot controllers are configured")
        pins = [p for bay in self.bays for p in bay.pins()]
        pins += [p for p in (self.entry_door.lock_pin, self.entry_door.door_pin) if p]
        pins += self.safety.pins()
        bay_numbers = {bay.number for bay in self.bays}
        problems += [
            f"safety.bay_extinguisher_pins names bay {n}, which is not one of the bays"
            for n in sorted(self.safety.bay_extinguisher_pins)
            if n not in bay_numbers
        ]
        problems += self._air_sensor_problems()
        twice = sorted({p for p in pins if pins.count(p) > 1}, key=lambda p: int(re.sub(r"\D", "", p)))
        if twice:
            problems.append(f"pins used twice: {', '.join(twice)}")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def _air_sensor_problems(self) -> list[str]:
        safety = self.safety
        if safety.cabinet_sensor != "modbus" or safety.cabinet_sensor_port is not None:
            return []
        if self.slots.port is None:
            return ["safety.cabinet_sensor 'modbus' needs cabinet_sensor_port, or slot controllers to share a bus with"]
        sharing = [bay.number for bay in self.bays if bay.slave == safety.cabinet_sensor_address]
        if sharing:
            return [
                f"safety.cabinet_sensor_address {safety.cabinet_sensor_address} is bay {sharing[0]}'s slot controller "
                "on the same bus: give the sensor an address no bay uses"
            ]
        return []


def _bay_problems(cabinet: CabinetKind, bay: BayConfig) -> list[str]:
    if cabinet == "gpio" and (bay.lock_pin is None or bay.door_pin is None):
        return [f"bay {bay.number} needs lock_pin and door_pin on a GPIO cabinet"]
    if cabinet == "kerong" and (bay.board > 15 or bay.lock > 15):
        return [f"bay {bay.number}: Kerong boards are numbered 0-15 with locks 0-15"]
    if cabinet == "8a80" and bay.board < 1:
        return [f"bay {bay.number}: 8A/80 board addresses are 1-32 (the DIP switches)"]
    return []
