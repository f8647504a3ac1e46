"""Simulated slot controllers: real Modbus RTU slaves speaking on the master side of a PtyPort.

The driver opens the port's stable path like any RS-485 adapter and runs its real pymodbus code.
pymodbus's own server wants a device path and would sit on the driver's side of the pty, so the RTU
slave side is implemented here on :class:`~kiosk.devices.sim.pty.PtyDevice`: function codes 03 (read
holding registers), 04 (read input registers), 06 (write one) and 16 (write many), CRC-16/Modbus.
The registers served are exactly the fields of the configured :class:`~kiosk.core.slotmap.SlotMap`
profile (plus its charger switch). As the Modbus spec asks, any other function code is answered with
exception 01 (illegal function) — FC 04 too when the map has no input registers — a read touching a
register the map does not have with 02 (illegal data address), a bad count or value with 03.

Each bay is a controller with a battery model: :meth:`SimSlotControllers.tick` charges batteries over
time; faults are injected with :meth:`~SimSlotControllers.silent`, :meth:`~SimSlotControllers.hot`,
:meth:`~SimSlotControllers.fault` and :meth:`~SimSlotControllers.garble`.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from kiosk.core.slotmap import RegisterField, SlotMap
from kiosk.devices.base import BatteryReading
from kiosk.devices.sim.pty import PtyDevice, PtyPort
from kiosk.devices.slots.registers import DEFAULT_MAP, FAULT_FLAGS, decode_reading, encode_reading, plan_reads

READ_HOLDING = 0x03
READ_INPUT = 0x04
WRITE_SINGLE = 0x06
WRITE_MULTIPLE = 0x10
ILLEGAL_FUNCTION = 0x01
ILLEGAL_ADDRESS = 0x02
ILLEGAL_VALUE = 0x03

# Modbus RTU ends a frame with 3.5 character times of silence; a pause this long (generous for a
# pty and a busy test machine) means whatever partial frame is buffered will never complete.
_FRAME_GAP_S = 0.05
# An RTU frame is at most 256 bytes (Modbus over serial line, 2.5.1).
_MAX_FRAME = 256
# Function codes whose requests are 8 bytes long: slave, function, 4 data bytes, CRC.
_FIXED_8 = frozenset({0x01, 0x02, 0x03, 0x04, 0x05, 0x06})


def crc16_modbus(data: bytes) -> int:
    """CRC-16/Modbus (reflected poly 0xA001, initial 0xFFFF); sent low byte first."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def with_crc(body: bytes) -> bytes:
    """A frame body with its CRC appended (low byte first)."""
    return body + crc16_modbus(body).to_bytes(2, "little")


def crc_ok(frame: bytes) -> bool:
    """True when the frame's last two bytes are the CRC of the rest."""
    return len(frame) >= 4 and crc16_modbus(frame[:-2]).to_bytes(2, "little") == frame[-2:]


def request_length(buffer: bytes) -> int | None:
    """Length of the request at the start of ``buffer``; None if more bytes are needed, 0 if none can be.

    Requests of function codes the simulator does not implement still have to be answered (exception
    01), so their end is found where the CRC first matches.
    """
    if len(buffer) < 2:
        return None
    function = buffer[1]
    if function in _FIXED_8:
        return 8
    if function in (0x0F, WRITE_MULTIPLE):
        return None if len(buffer) < 7 else 9 + buffer[6]
    for length in range(4, min(len(buffer), _MAX_FRAME) + 1):
        if crc_ok(buffer[:length]):
            return length
    return 0 if len(buffer) >= _MAX_FRAME else None


class BusDevice(Protocol):
    """Another simulated device on the same RS-485 line (the cabinet's air sensor, say)."""

    def respond(self, function: int, payload: bytes) -> bytes | None:
        """The reply PDU (function code onwards) to a request addressed to it; None: it stays silent."""
        ...


@dataclass
class SimBattery:
    """A battery as its BMS sees it."""

    battery_id: str
    soc_pct: float = 50.0
    temperature_c: float = 25.0
    soh_pct: float = 97.0
    cycles: int = 120
    faults: frozenset[str] = frozenset()


@dataclass
class _SimBay:
    slave: int
    battery: SimBattery | None = None
    charger_enabled: bool = True
    silent: bool = False
    garble: int = 0
    id_bytes: bytes | None = None


class SimSlotControllers:
    """One simulated slot controller per bay, all on one simulated RS-485 port."""

    PACK_EMPTY_V = 39.0
    PACK_FULL_V = 54.6
    CHARGE_CURRENT_A = 5.0

    def __init__(
        self,
        port: PtyPort,
        slaves: Mapping[int, int],
        *,
        regmap: SlotMap = DEFAULT_MAP,
        charge_pct_per_s: float = 0.02,
        id_padding: bytes = b"\x00",
    ) -> None:
        self.port = port
        self.regmap = regmap
        self.id_padding = id_padding
        """What fills the id field after the id: NUL, space, or 0xFF (a BMS whose flash was never written)."""
        # Holding registers always exist (the charger switch is one); input registers only if mapped.
        self._read_functions = {READ_HOLDING} | {regmap.field(name).function for name in regmap.mapped()}
        self._served = [
            (span.function, span.start + i * regmap.step(span.function))
            for span in plan_reads(regmap)
            for i in range(span.count)
        ]
        self.charge_pct_per_s = charge_pct_per_s
        self._mutex = threading.Lock()
        self._bays = {bay: _SimBay(slave=slave) for bay, slave in slaves.items()}
        self._by_slave = {slave: bay for bay, slave in slaves.items()}
        self._others: dict[int, BusDevice] = {}
        self._buffer = b""
        self._last_bytes_at = 0.0
        self.requests = 0
        """Valid requests addressed to one of these controllers (answered or not)."""
        self.charger_writes: list[tuple[int, int]] = []
        """Every charger-enable write answered, in order: (bay, value written)."""
        self._device = PtyDevice(port, self._on_bytes, name="sim-slots")

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        """Begin answering on the port."""
        self._device.start()

    def close(self) -> None:
        """Stop answering (the port stays). Safe twice."""
        self._device.close()

    def __enter__(self) -> SimSlotControllers:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def attach(self, address: int, device: BusDevice) -> None:
        """Put another device on the line at ``address`` (one no bay's controller uses)."""
        if address in self._by_slave:
            raise ValueError(f"address {address} is bay {self._by_slave[address]}'s slot controller")
        with self._mutex:
            self._others[address] = device

    # -- the model -----------------------------------------------------------------------------

    def _bay(self, bay: int) -> _SimBay:
        if bay not in self._bays:
            raise KeyError(f"no simulated slot controller for bay {bay}")
        return self._bays[bay]

    def insert(self, bay: int, battery: SimBattery) -> None:
        """Put a battery in the bay."""
        with self._mutex:
            self._bay(bay).battery = battery

    def take(self, bay: int) -> SimBattery | None:
        """Take the battery out of the bay (None if it was empty)."""
        with self._mutex:
            sim = self._bay(bay)
            battery, sim.battery = sim.battery, None
            return battery

    def battery(self, bay: int) -> SimBattery | None:
        """A copy of the bay's battery as it is now (None too for a bay without a slot controller: goods)."""
        with self._mutex:
            if bay not in self._bays:
                return None
            battery = self._bays[bay].battery
            return dataclasses.replace(battery) if battery else None

    def charger_enabled(self, bay: int) -> bool:
        """Whether the bay's charger is switched on (register ``charger_enable``)."""
        with self._mutex:
            return self._bay(bay).charger_enabled

    def leave_charger(self, bay: int, on: bool) -> None:
        """Set the bay's charger register as a station that went away left it (tests of a restart)."""
        with self._mutex:
            self._bay(bay).charger_enabled = on

    def silent(self, bay: int, silent: bool = True) -> None:
        """Make the bay's controller stop answering (or answer again)."""
        with self._mutex:
            self._bay(bay).silent = silent

    def garble(self, bay: int, replies: int = 1) -> None:
        """Corrupt the CRC of the next ``replies`` replies of the bay's controller."""
        with self._mutex:
            self._bay(bay).garble = replies

    def corrupt_id(self, bay: int, raw: bytes | None) -> None:
        """Make the bay's BMS hold ``raw`` where its id should be (a corrupt EEPROM); None: the id again."""
        spec = self.regmap.battery_id
        if raw is not None and len(raw) > 2 * spec.registers():
            raise ValueError(f"{len(raw)} bytes do not fit the {2 * spec.registers()}-byte id field")
        with self._mutex:
            self._bay(bay).id_bytes = raw

    def hot(self, bay: int, temperature_c: float = 62.0) -> None:
        """Heat the bay's battery; its BMS flags over-temperature."""
        with self._mutex:
            battery = self._needs_battery(bay)
            battery.temperature_c = temperature_c
            battery.faults = battery.faults | {"over_temperature"}

    def warm(self, bay: int, temperature_c: float) -> None:
        """Set the bay's battery temperature, leaving its BMS flags as they are."""
        with self._mutex:
            self._needs_battery(bay).temperature_c = temperature_c

    def fault(self, bay: int, flags: Iterable[str]) -> None:
        """Set the BMS fault flags of the bay's battery (names from FAULT_FLAGS; empty clears)."""
        wanted = frozenset(flags)
        unknown = wanted - set(FAULT_FLAGS)
        if unknown:
            raise ValueError(f"unknown fault flags {sorted(unknown)}; known: {list(FAULT_FLAGS)}")
        with self._mutex:
            self._needs_battery(bay).faults = wanted

    def _needs_battery(self, bay: int) -> SimBattery:
        battery = self._bay(bay).battery
        if battery is None:
            raise ValueError(f"bay {bay} is empty")
        return battery

    def tick(self, seconds: float) -> None:
        """Let ``seconds`` pass: batteries on an enabled charger, without faults, charge."""
        with self._mutex:
            for sim in self._bays.values():
                if self._charger_state(sim) == "charging" and sim.battery is not None:
                    sim.battery.soc_pct = min(100.0, sim.battery.soc_pct + self.charge_pct_per_s * seconds)

    @staticmethod
    def _charger_state(sim: _SimBay) -> str:
        battery = sim.battery
        if battery is None or not sim.charger_enabled:
            return "idle"
        if battery.faults:
            return "fault"
        return "full" if battery.soc_pct >= 100.0 else "charging"

    def reading(self, bay: int) -> BatteryReading:
        """What the bay's controller reports now, at its map's resolution (what the driver should decode)."""
        with self._mutex:
            return decode_reading(self._registers(bay, self._bay(bay)), bay, self.regmap)

    def _reading(self, bay: int, sim: _SimBay) -> BatteryReading:
        state = self._charger_state(sim)
        battery = sim.battery
        if battery is None:
            return BatteryReading(bay=bay, present=False, charger_state=state)
        span = self.PACK_FULL_V - self.PACK_EMPTY_V
        return BatteryReading(
            bay=bay,
            present=True,
            battery_id=battery.battery_id,
            soc_pct=round(battery.soc_pct, 1),
            voltage_v=round(self.PACK_EMPTY_V + span * battery.soc_pct / 100, 2),
            current_a=self.CHARGE_CURRENT_A if state == "charging" else 0.0,
            temperature_c=round(battery.temperature_c, 1),
            soh_pct=round(battery.soh_pct, 1),
            cycles=battery.cycles,
            fault_flags=battery.faults,
            charger_state=state,
        )

    def _registers(self, bay: int, sim: _SimBay) -> dict[tuple[int, int], int]:
        regmap = self.regmap
        values = dict.fromkeys(self._served, 0)  # the gaps a map's read_gap lets a request cover read 0
        values.update(encode_reading(self._reading(bay, sim), regmap, id_padding=self.id_padding))
        for name in regmap.mapped():
            spec = regmap.field(name)
            if isinstance(spec, RegisterField) and spec.width == 8:
                # The register's other byte is another value (JK: balancing beside SoC, precharge beside SoH).
                values[(spec.function, spec.address)] |= 0x0001 if spec.byte == "high" else 0x0100
        if sim.id_bytes is not None and sim.battery is not None:
            text = regmap.battery_id
            raw = sim.id_bytes.ljust(2 * text.registers(), b"\x00")
            for i in range(text.registers()):
                word = int.from_bytes(raw[2 * i : 2 * i + 2], text.byte_order)
                values[(text.function, text.address + i * regmap.step(text.function))] = word
        values[(READ_HOLDING, regmap.charger_enable)] = int(sim.charger_enabled)
        return values

    # -- the wire ------------------------------------------------------------------------------

    def _on_bytes(self, data: bytes) -> None:
        now = time.monotonic()
        if now - self._last_bytes_at > _FRAME_GAP_S:
            self._buffer = b""
        self._last_bytes_at = now
        self._buffer += data
        while self._buffer:
            length = request_length(self._buffer)
            if length is None:
                return
            if length == 0 or (len(self._buffer) >= length and not crc_ok(self._buffer[:length])):
                # No frame can start here (or a corrupt one): slide one byte to find the next frame start.
                self._buffer = self._buffer[1:]
                continue
            if len(self._buffer) < length:
                return
            frame, self._buffer = self._buffer[:length], self._buffer[length:]
            reply = self._handle(frame)
            if reply:
                self._device.send(reply)

    def _handle(self, frame: bytes) -> bytes | None:
        slave, function, payload = frame[0], frame[1], frame[2:-2]
        with self._mutex:
            bay = self._by_slave.get(slave)
            other = self._others.get(slave)
        if bay is None:
            # Outside the lock: another device may take its time to answer (the line waits, as a real one does).
            body = other.respond(function, payload) if other is not None else None
            return with_crc(bytes([slave]) + body) if body is not None else None  # else: not ours to answer
        with self._mutex:
            sim = self._bays[bay]
            self.requests += 1
            if sim.silent:
                return None
            body = self._respond(bay, sim, function, payload)
            reply = with_crc(bytes([slave]) + body)
            if sim.garble > 0:
                sim.garble -= 1
                reply = reply[:-1] + bytes([reply[-1] ^ 0xFF])
            return reply

    def _respond(self, bay: int, sim: _SimBay, function: int, payload: bytes) -> bytes:
        """The reply PDU (function code onwards) to one request."""
        regmap = self.regmap
        if function in self._read_functions:
            start, count = int.from_bytes(payload[0:2], "big"), int.from_bytes(payload[2:4], "big")
            if not 1 <= count <= 125:
                return bytes([function | 0x80, ILLEGAL_VALUE])
            values = self._registers(bay, sim)
            step = regmap.step(function)  # a byte-addressed map's registers are two addresses apart
            addresses = [start + i * step for i in range(count)]
            if any((function, address) not in values for address in addresses):
                return bytes([function | 0x80, ILLEGAL_ADDRESS])
            data = b"".join(values[(function, a)].to_bytes(2, "big") for a in addresses)
            return bytes([function, len(data)]) + data
        if function in (WRITE_SINGLE, WRITE_MULTIPLE):
            start = int.from_bytes(payload[0:2], "big")
            if function == WRITE_SINGLE:
                words = [int.from_bytes(payload[2:4], "big")]
            else:
                count = int.from_bytes(payload[2:4], "big")
                words = [int.from_bytes(payload[5 + 2 * i : 7 + 2 * i], "big") for i in range(count)]
            if start != regmap.charger_enable or len(words) != 1:
                return bytes([function | 0x80, ILLEGAL_ADDRESS])
            if words[0] not in (0, 1):
                return bytes([function | 0x80, ILLEGAL_VALUE])
            sim.charger_enabled = bool(words[0])
            self.charger_writes.append((bay, words[0]))
            # Both replies echo the first four payload bytes: address + value (06) or address + count (16).
            return bytes([function]) + payload[0:4]
        return bytes([function | 0x80, ILLEGAL_FUNCTION])
