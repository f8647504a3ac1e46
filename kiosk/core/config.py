"""The station's configuration: one TOML file, a typed schema, a docstring per field.

Unknown keys, wrong types and impossible values are errors that name the key, its line in the file,
and what was expected (:func:`load_config`). Relative paths in the file are relative to the file's own
folder. :func:`example_toml` writes a complete commented example generated from this schema, so the
example and the schema cannot drift apart.
"""

from __future__ import annotations

import logging
import re
import tomllib
import zoneinfo
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, PrivateAttr, ValidationError, field_validator, model_validator

from kiosk.core.battery_config import BatteriesConfig
from kiosk.core.errors import ConfigError
from kiosk.core.hardware import BayConfig, HardwareConfig, ScannerConfig
from kiosk.core.safety_config import SafetyConfig
from kiosk.core.schema import Section
from kiosk.core.tomlpos import KeyPath, describe_error, key_lines

DEFAULT_CONFIG_PATH = Path("/etc/kiosk/kiosk.toml")

log = logging.getLogger(__name__)

DEPRECATED_KEYS: dict[tuple[str, str], str] = {
    ("codes", "clock_skew_unsynced_s"): (
        "is no longer used and is ignored: codes are checked against the newest trusted time the station has "
        "seen (NTP, the hub, the kept time plus the time since boot), not a grace window for an unsynchronised "
        "clock (docs/security.md); delete the line"
    ),
}
"""Keys older releases knew, by (section, key): accepted with a warning, so an upgrade never stops a station
over a setting that no longer does anything. Every other unknown key is an error."""

__all__ = ["BayConfig", "Config", "HardwareConfig", "ScannerConfig", "Section", "load_config", "parse_config"]


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
    users_file: Path = Path("/etc/kiosk/users.json")
    """Staff accounts of the status page (JSON, mode 0600, argon2id hashes); managed with 'kiosk admin'."""
    metrics_key_file: Path | None = None
    """File (mode 0600) holding the read-only key for /metrics and GET /api/status|events (fleet monitoring)."""
    tls_cert_file: Path | None = None
    """Serve the API and status page over HTTPS with this certificate (the station's own); cookies become Secure."""
    tls_key_file: Path | None = None
    """The certificate's private key."""

    def local_url(self) -> str:
        """Where a program on this machine reaches the API (loopback when it listens on every address)."""
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host  # noqa: S104 - bind-all test
        return f"{'https' if self.tls_cert_file else 'http'}://{host}:{self.port}"

    @model_validator(mode="after")
    def _tls_pair(self) -> ApiConfig:
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise ValueError("HTTPS needs both tls_cert_file and tls_key_file (or neither)")
        return self


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
    heartbeat_s: Annotated[float, Field(gt=0, le=86400)] = 60.0
    """Seconds between status snapshots sent to the hub."""
    bundle_s: Annotated[float, Field(gt=0, le=86400)] = 300.0
    """Seconds between checks for a new bundle (keys, revocations, content); unchanged ones cost a 304."""

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
    battery_id_pattern: str = r"^[A-Z]{2}[0-9A-Z]{6,14}$"
    """Regular expression of this network's battery ids; a returned battery that does not match is refused."""
    min_minutes_between_swaps: Annotated[float, Field(ge=0, le=1440)] = 3.0
    """Least time between two completed swaps of one rider (min), against shared screenshots; 0 = no limit."""
    unlock_confirm_s: Annotated[float | None, Field(gt=0, le=120)] = 10.0
    """A door not seen open this long after its unlock counts as a failed lock (s); unset turns this off."""
    max_bay_attempts: Annotated[int, Field(ge=1, le=10)] = 3
    """How many bays are tried for one step of a swap before it ends on faulty locks."""
    assume_charged_after_s: Annotated[float | None, Field(gt=0)] = None
    """Cabinets without battery data: a present battery counts as charged after resting this long (s)."""
    offline_spend_cap_points: Annotated[int, Field(ge=0, le=100_000)] = 30
    """Most points one rider may spend here that the hub has not confirmed yet (offline); 0 = no offline spends."""
    spend_confirm_timeout_s: Annotated[float, Field(gt=0, le=30)] = 3.0
    """How long a spend waits for the hub's live answer before the offline rule decides (s)."""
    rider_session_s: Annotated[float, Field(gt=0, le=1800)] = 120.0
    """A rider identified by their code stays known this long after their last touch (s)."""

    @field_validator("battery_id_pattern")
    @classmethod
    def _valid_regex(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression: {exc}") from exc
        return value


class CodesConfig(Section):
    """Checking riders' codes offline."""

    keyset_file: Path = Path("/etc/kiosk/keyset.json")
    """Key set the hub signs codes with (JSON, see docs/rider-codes.md); the synced bundle replaces it."""


class UiConfig(Section):
    """The touchscreen app (kiosk-ui)."""

    inactivity_s: Annotated[float, Field(gt=0, le=3600)] = 60.0
    """A screen nobody touches returns to idle after this long (s), unless a swap step is waiting."""
    maintenance_pin_file: Path | None = None
    """File (mode 0600) holding the staff PIN (4-12 digits); unset hides the staff button."""
    font_file: Path = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
    """A font covering Chinese and Latin; the app refuses to start without it (never shows empty boxes)."""
    diagonal_in: Annotated[float, Field(ge=3, le=40)] = 7.0
    """Display diagonal in inches: turns the 15 mm minimum touch target into pixels."""
    scanner_position: Literal["below", "left", "right"] = "below"
    """Where the scanner is, seen from the screen; the idle screen points at it."""
    input: Literal["touchscreen", "mouse"] = "touchscreen"
    """One input source: the touchscreen (kernel touch device) or a mouse on a desktop."""


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
    codes: CodesConfig = CodesConfig()
    """Rider codes."""
    ui: UiConfig = UiConfig()
    """The touchscreen app."""
    safety: SafetyConfig = SafetyConfig()
    """The battery-safety supervisor's limits (docs/safety.md)."""
    batteries: BatteriesConfig = BatteriesConfig()
    """Which returned packs are taken into charging, and how packs' readings reach the hub (docs/safety.md)."""
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    """How much kiosk-core logs."""
    _deprecations: tuple[str, ...] = PrivateAttr(default=())

    @property
    def deprecations(self) -> tuple[str, ...]:
        """Warnings about keys of older releases the file still has (ignored; see :data:`DEPRECATED_KEYS`)."""
        return self._deprecations

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
    deprecations = _drop_deprecated(data, text, source)
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
    for warning in deprecations:
        log.warning("%s", warning)
    config._deprecations = tuple(deprecations)
    return config


def _drop_deprecated(data: dict[str, Any], text: str, source: str) -> list[str]:
    """Remove the keys of :data:`DEPRECATED_KEYS` from ``data``; a warning naming each one's line."""
    warnings: list[str] = []
    lines: dict[KeyPath, int] | None = None
    for (section, key), why in DEPRECATED_KEYS.items():
        table = data.get(section)
        if not isinstance(table, dict) or key not in table:
            continue
        del table[key]
        lines = key_lines(text) if lines is None else lines
        line = lines.get((section, key), 0)
        where = f"{source}, line {line}" if line else source
        warnings.append(f"{where}: [{section}] {key} {why}")
    return warnings


def load_config(path: Path, base_dir: Path | None = None) -> Config:
    """Read, parse and validate a config file; relative paths in it are relative to ``base_dir``
    (by default the file's own folder: kiosk-ui reads a copy of the config elsewhere)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist (try 'kiosk config example > {path}')") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from exc
    return parse_config(text, source=str(path), base_dir=base_dir or path.resolve().parent)
