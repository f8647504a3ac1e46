"""The station's configuration: one TOML file, a typed schema, a docstring per field.

Unknown keys, wrong types and impossible values are errors that name the key, its line in the file,
and what was expected (:func:`load_config`). Relative paths in the file are relative to the file's own
folder. :func:`example_toml` writes a complete commented example generated from this schema, so the
example and the schema cannot drift apart.
"""

from __future__ import annotations

import re
import tomllib
import zoneinfo
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from kiosk.core.errors import ConfigError
from kiosk.core.tomlpos import KeyPath, describe_error, key_lines

DEFAULT_CONFIG_PATH = Path("/etc/kiosk/kiosk.toml")


class Section(BaseModel):
    """Base of every config section: frozen, unknown keys refused, attribute docstrings as descriptions."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


class StationConfig(Section):
    """Who this station is and where it keeps its data."""

    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$", examples=["sh-xuhui-001"])]
    """Station id as registered at the hub: lower-case letters, digits and dashes."""
    name: Annotated[str, Field(min_length=1, max_length=60, examples=["徐汇骑手驿站"])]
    """Name shown to riders (Chinese)."""
    name_en: Annotated[str, Field(min_length=1, max_length=60, examples=["Xuhui Rider Station"])]
    """Name shown to riders in English."""
    timezone: str = "Asia/Shanghai"
    """IANA time zone for what riders and staff read (records are always UTC)."""
    data_dir: Path = Path("/var/lib/kiosk")
    """Writable folder for the database and runtime files (keep it off a read-only root)."""

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (expected an IANA name like 'Asia/Shanghai')") from exc
        return value


class ApiConfig(Section):
    """The local HTTP API and status page served by kiosk-core."""

    host: str = "127.0.0.1"
    """Address to listen on; '0.0.0.0' to let maintenance staff reach the status page over the LAN."""
    port: Annotated[int, Field(ge=0, le=65535)] = 8080
    """TCP port (0 picks a free one, for tests)."""
    ui_token_file: Path = Path("/etc/kiosk/ui-token")
    """File (mode 0600) holding the token the touchscreen app presents; created at first start."""


class SyncConfig(Section):
    """Sync with the city hub. The station works fully offline; this only says where and how often."""

    enabled: bool = False
    """Whether to talk to the hub at all."""
    hub_url: Annotated[
        str | None, Field(pattern=r"^https?://[^\s/]+(/.*)?$", examples=["https://hub.city.example"])
    ] = None
    """Base URL of the city hub (https in production)."""
    token_file: Path = Path("/etc/kiosk/hub-token")
    """File (mode 0600) holding this station's bearer token for the hub."""
    interval_s: Annotated[float, Field(gt=0, le=3600)] = 30.0
    """Seconds between sync rounds when all is well."""
    timeout_s: Annotated[float, Field(gt=0, le=120)] = 10.0
    """Timeout of every request to the hub, in seconds."""
    backoff_cap_s: Annotated[float, Field(gt=0, le=86400)] = 300.0
    """Longest wait between retries after failures, in seconds."""

    @model_validator(mode="after")
    def _url_when_enabled(self) -> SyncConfig:
        if self.enabled and not self.hub_url:
            raise ValueError("sync is enabled but hub_url is not set")
        return self


class PolicyConfig(Section):
    """Thresholds and time limits of the station's flows."""

    charged_soc_pct: Annotated[float, Field(ge=50, le=100)] = 95.0
    """A battery counts as charged at or above this state of charge (%)."""
    max_battery_temp_c: Annotated[float, Field(ge=0, le=80)] = 45.0
    """A battery hotter than this (°C) is never handed out."""
    insert_timeout_s: Annotated[float, Field(gt=0, le=600)] = 120.0
    """How long a rider has to put the flat battery in and close the door (s)."""
    collect_timeout_s: Annotated[float, Field(gt=0, le=600)] = 120.0
    """How long a rider has to take the charged battery and close the door (s)."""
    door_open_alarm_s: Annotated[float, Field(gt=0, le=3600)] = 90.0
    """A door open longer than this raises an alarm (s)."""
    code_clock_skew_s: Annotated[float, Field(ge=0, le=3600)] = 120.0
    """Allowance for clock difference when checking a code's validity window (s)."""
    event_retention_days: Annotated[float, Field(gt=0, le=3650)] = 30.0
    """Events already synced to the hub are pruned after this many days; unsynced ones never are."""


class ScannerConfig(Section):
    """The QR code scanner."""

    kind: Literal["none", "serial", "evdev"] = "none"
    """'serial' (USB-CDC or UART), 'evdev' (USB keyboard mode), or 'none'."""
    port: Annotated[str | None, Field(examples=["/dev/serial/by-id/usb-SM_GM65_Scanner-if00"])] = None
    """Serial port by stable path (/dev/serial/by-id/...) or evdev device path."""
    baudrate: Annotated[int, Field(ge=1200, le=921600)] = 9600
    """Serial speed; most scanner modules default to 9600."""


class BayConfig(Section):
    """One battery bay of the cabinet."""

    number: Annotated[int, Field(ge=1, le=99, examples=[1])]
    """Bay number as printed on the cabinet door (1-based)."""
    board: Annotated[int, Field(ge=0, le=31)] = 0
    """Lock board address on the RS-485 bus (board cabinets)."""
    lock: Annotated[int, Field(ge=0, le=31)] = 0
    """Lock channel on that board (0-based)."""
    lock_pin: str | None = None
    """GPIO of the lock relay, e.g. 'GPIO17' (GPIO cabinets)."""
    door_pin: str | None = None
    """GPIO of the door reed switch (GPIO cabinets)."""
    presence_pin: Annotated[str | None, Field(examples=["GPIO24"])] = None
    """GPIO of the battery-presence switch, if the bay has one."""
    slave: Annotated[int | None, Field(ge=1, le=247, examples=[1])] = None
    """Modbus slave address of the bay's slot controller, if it has one."""

    @field_validator("lock_pin", "door_pin", "presence_pin")
    @classmethod
    def _gpio_name(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"GPIO([0-9]|1[0-9]|2[0-7])", value):
            raise ValueError(f"expected a pin name like 'GPIO17' (GPIO0-GPIO27), got {value!r}")
        return value


class HardwareConfig(Section):
    """What the station is wired to."""

    cabinet: Literal["none", "sim", "gpio", "kerong", "8a80"] = "none"
    """Locker backend: 'gpio', 'kerong' (KR-CU16/CU12), '8a80' (generic board), 'sim', or 'none'."""
    bus_port: Annotated[
        str | None, Field(examples=["/dev/serial/by-id/usb-FTDI_FT232R_USB_UART_A50285BI-if00-port0"])
    ] = None
    """RS-485 adapter of the lock boards, by stable path (/dev/serial/by-id/...)."""
    bays: list[BayConfig] = []
    """The bays, one [[hardware.bays]] table each."""
    scanner: ScannerConfig = ScannerConfig()
    """The QR scanner."""

    @model_validator(mode="after")
    def _unique_bays(self) -> HardwareConfig:
        seen: set[int] = set()
        for bay in self.bays:
            if bay.number in seen:
                raise ValueError(f"bay number {bay.number} appears twice")
            seen.add(bay.number)
        if self.cabinet in ("kerong", "8a80") and not self.bus_port:
            raise ValueError(f"cabinet '{self.cabinet}' needs bus_port (the RS-485 adapter's path)")
        return self


class Config(Section):
    """The whole station configuration (``/etc/kiosk/kiosk.toml``)."""

    station: StationConfig
    """Identity and data folder."""
    api: ApiConfig = ApiConfig()
    """Local API and status page."""
    sync: SyncConfig = SyncConfig()
    """City hub sync."""
    policy: PolicyConfig = PolicyConfig()
    """Thresholds and time limits."""
    hardware: HardwareConfig = HardwareConfig()
    """Cabinet, bays and scanner."""
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    """How much kiosk-core logs."""

    def database_path(self) -> Path:
        """Where the station database lives."""
        return self.station.data_dir / "station.db"


def _resolve_paths(model: BaseModel, base: Path) -> BaseModel:
    """Make every relative ``Path`` field absolute against ``base`` (the config file's folder)."""
    updates: dict[str, Any] = {}
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, Path) and not value.is_absolute():
            updates[name] = (base / value).resolve()
        elif isinstance(value, BaseModel):
            updates[name] = _resolve_paths(value, base)
    return model.model_copy(update=updates) if updates else model


def _line_of(loc: tuple[str | int, ...], lines: dict[KeyPath, int]) -> int:
    path = tuple(loc)
    while path and path not in lines:
        path = path[:-1]
    return lines.get(path, 0)


def _known_keys(model: type[BaseModel], loc: tuple[str | int, ...]) -> list[str]:
    """The keys a section allows, found by walking ``loc`` through the schema ([] if it leads nowhere)."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue  # an index into a list of sections: same model
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return []
        field = current.model_fields.get(part)
        if field is None:
            return []
        annotation = field.annotation
        args = getattr(annotation, "__args__", ())
        current = args[0] if getattr(annotation, "__origin__", None) is list and args else annotation
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def parse_config(text: str, *, source: str = "<config>", base_dir: Path | None = None) -> Config:
    """Parse and validate TOML text; raise ``ConfigError`` listing every mistake with its line."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source} is not valid TOML: {exc}") from exc
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        lines = key_lines(text)
        errors = sorted(exc.errors(include_url=False), key=lambda e: _line_of(e["loc"], lines))
        problems = [describe_error(err, lines, _known_keys(Config, err["loc"][:-1])) for err in errors]
        noun = "mistake" if len(problems) == 1 else "mistakes"
        raise ConfigError(f"{source} has {len(problems)} {noun}:", problems) from None
    if base_dir is not None:
        resolved = _resolve_paths(config, base_dir)
        assert isinstance(resolved, Config)
        config = resolved
    return config


def load_config(path: Path) -> Config:
    """Read, parse and validate a config file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist (try 'kiosk config example > {path}')") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from exc
    return parse_config(text, source=str(path), base_dir=path.resolve().parent)
