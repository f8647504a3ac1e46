"""What kiosk-ui needs to know, gathered from the station config, the command line and the environment.

Until the station config has a ``[ui]`` section, the fields below that have no home in it are read
from environment variables (``KIOSK_UI_*``); a future ``config.ui`` section is used when present.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from kiosk.core.config import Config, UiConfig
from kiosk.core.errors import ConfigError
from kiosk.ui.i18n import Language

DEFAULT_FONT = UiConfig.model_fields["font_file"].default
"""The font the [ui] section names by default."""
MIN_TOUCH_MM = 15.0
SIZES: tuple[tuple[int, int], ...] = ((800, 480), (1024, 600), (1280, 800), (720, 1280))
"""The displays the layouts are made for (the Pi 7" display first)."""

InputKind = Literal["mouse", "touchscreen"]


@dataclass(frozen=True)
class UiSettings:
    """Everything the touchscreen app is configured with."""

    api_url: str
    """Base URL of kiosk-core's local API."""
    token_file: Path
    """The UI token file kiosk-core writes (``api.ui_token_file``)."""
    station_name: str = ""
    station_name_en: str = ""
    timezone: str = "Asia/Shanghai"
    language: Language = Language.ZH
    """The language shown at start and after every return to idle."""
    inactivity_s: float = 60.0
    """A screen nobody touches returns to idle after this long (s), unless a swap step is waiting."""
    maintenance_pin: str | None = None
    """The staff PIN; None hides the maintenance screen."""
    font_file: Path = DEFAULT_FONT
    diagonal_in: float = 7.0
    """The display's diagonal (inches): it turns 15 mm into pixels for touch targets."""
    size: tuple[int, int] | None = None
    """Window size in pixels; None: the display's own (fullscreen)."""
    fullscreen: bool = True
    input: InputKind = "touchscreen"
    """'touchscreen': the kernel's touch device only; 'mouse': a desktop or Xvfb (development, tests)."""
    scanner_position: Literal["below", "left", "right"] = "below"
    """Where the QR scanner is, seen from the screen (the idle screen points at it)."""

    def touch_px(self, width: int, height: int) -> int:
        """The smallest touch target (15 mm) in pixels for a ``width`` × ``height`` display."""
        dpi = math.hypot(width, height) / self.diagonal_in
        return math.ceil(MIN_TOUCH_MM / 25.4 * dpi)


def parse_size(text: str) -> tuple[int, int]:
    """``800x480`` → (800, 480)."""
    width, sep, height = text.lower().partition("x")
    if not sep or not width.isdigit() or not height.isdigit() or int(width) < 240 or int(height) < 240:
        raise ConfigError(f"a window size looks like 800x480 (at least 240 each way), not {text!r}")
    return int(width), int(height)


MAX_TOKEN_BYTES = 4096
"""A UI token file longer than this is not one (the token is one line of 43 characters)."""


def check_token_file(path: Path) -> Path:
    """``path`` if the UI token can be read from it; else an error saying where kiosk-ui's token comes from.

    Under kiosk-ui.service the app runs as its own user, which cannot open /etc/kiosk: systemd copies the
    token into the unit's credentials folder (``LoadCredential=ui-token:…``) and the unit passes that copy
    with ``--token-file``. Checked once at start, so a wrong place is a plain message, not a screen that
    never connects.
    """
    fix = (
        "kiosk-ui.service passes the copy systemd makes (LoadCredential=ui-token:/etc/kiosk/ui-token, "
        "--token-file %d/ui-token); by hand, pass --token-file with a file this user can read"
    )
    try:
        with path.open("rb") as fp:
            data = fp.read(MAX_TOKEN_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError(f"the UI token file {path} does not exist ('kiosk install' makes it); {fix}") from None
    except OSError as exc:
        raise ConfigError(f"the UI token file {path} cannot be read ({exc.strerror or exc}); {fix}") from exc
    if len(data) > MAX_TOKEN_BYTES or not data.strip():
        raise ConfigError(f"the UI token file {path} does not hold a token (it is empty or too long)")
    return path


def read_pin(env: Mapping[str, str]) -> str | None:
    """The staff PIN from ``KIOSK_UI_PIN`` or the file named by ``KIOSK_UI_PIN_FILE`` (digits, 4 to 12)."""
    pin = env.get("KIOSK_UI_PIN")
    if pin is None and env.get("KIOSK_UI_PIN_FILE"):
        path = Path(env["KIOSK_UI_PIN_FILE"])
        try:
            pin = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"the maintenance PIN file {path} cannot be read: {exc}") from exc
    if pin is None or pin == "":
        return None
    if not pin.isdigit() or not 4 <= len(pin) <= 12:
        raise ConfigError("the maintenance PIN must be 4 to 12 digits")
    return pin


def from_config(config: Config, env: Mapping[str, str] | None = None) -> UiSettings:
    """Settings for the station described by ``config`` (``env`` defaults to the process environment)."""
    env = os.environ if env is None else env
    ui = config.ui
    pin = read_pin(env)
    if pin is None and ui.maintenance_pin_file is not None:
        pin = read_pin({"KIOSK_UI_PIN_FILE": str(ui.maintenance_pin_file)})
    settings = UiSettings(
        api_url=config.api.local_url(),
        token_file=config.api.ui_token_file,
        station_name=config.station.name,
        station_name_en=config.station.name_en,
        timezone=config.station.timezone,
        maintenance_pin=pin,
        inactivity_s=ui.inactivity_s,
        font_file=ui.font_file,
        diagonal_in=ui.diagonal_in,
        scanner_position=ui.scanner_position,
        input=ui.input,
    )
    if env.get("KIOSK_UI_INACTIVITY_S"):
        settings = replace(settings, inactivity_s=float(env["KIOSK_UI_INACTIVITY_S"]))
    if env.get("KIOSK_UI_FONT"):
        settings = replace(settings, font_file=Path(env["KIOSK_UI_FONT"]))
    return settings
