"""The one place Kivy is set up: environment and config BEFORE ``import kivy``, then the default font.

Kivy reads its environment when first imported and creates the window from its config when the window
module is first imported, so :func:`prepare` must run first in the process (``kiosk ui`` and the test
conftest call it); it refuses to run late rather than half-apply. What it sets, and why:

- no config file read or written, no log file (an SD card wears out; journald has our logs), Kivy's
  log records go through Python's logging (``KIVY_LOG_MODE=PYTHON``), Kivy ignores our argv;
- the SDL2 window provider (X11 under Xvfb, KMS/DRM on a Pi without a desktop);
- exactly one input provider: the kernel's touch device (production) or the window's mouse (desktop,
  Xvfb) — both at once would deliver every touch twice;
- the Chinese+Latin font as Kivy's default, so no widget can ever fall back to a font that draws boxes.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
from pathlib import Path

from kiosk.core.errors import ConfigError
from kiosk.ui.settings import UiSettings

MAX_FPS = 30
"""Plenty for a kiosk, and half the idle work of 60."""

_prepared: UiSettings | None = None


class _NoMtdevNoise(logging.Filter):
    """Kivy logs a traceback at import when libmtdev is missing; we never use mtdev (hidinput reads touch)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Input: MTDev is not supported")


class FontMissing(ConfigError, FileNotFoundError):
    """The font that covers Chinese and Latin is not installed."""


def check_font(path: Path) -> Path:
    """``path`` if the font file is there; else a clear error saying how to install it."""
    if not path.is_file():
        raise FontMissing(
            f"the touchscreen font {path} is missing: install it with 'apt-get install fonts-wqy-microhei' "
            "(scripts/bootstrap.sh does) or point KIOSK_UI_FONT at a font that covers Chinese and Latin"
        )
    return path


def kivy_environment(settings: UiSettings, home: Path) -> dict[str, str]:
    """The environment variables Kivy must see at import (a pure function, for the tests)."""
    env = {
        "KIVY_NO_ARGS": "1",
        "KIVY_NO_CONFIG": "1",
        "KIVY_NO_FILELOG": "1",
        "KIVY_LOG_MODE": "PYTHON",
        "KIVY_HOME": str(home),
        "KIVY_WINDOW": "sdl2",
        "KIVY_TEXT": "sdl2",
        "KIVY_IMAGE": "sdl2",
    }
    if settings.input == "touchscreen":
        env["SDL_MOUSE_TOUCH_EVENTS"] = "0"  # SDL must not turn touches into mouse clicks as well
    return env


def input_providers(settings: UiSettings) -> dict[str, str]:
    """Kivy's ``[input]`` section: one provider per physical device."""
    if settings.input == "mouse":
        return {"mouse": "mouse"}
    return {"touchscreen": "probesysfs,provider=hidinput"}


def prepare(settings: UiSettings) -> None:
    """Set Kivy up for ``settings``; call before anything imports kivy (a second call must agree)."""
    global _prepared
    if _prepared is not None:
        if _prepared != settings:
            raise RuntimeError("kiosk.ui.bootstrap.prepare ran twice with different settings")
        return
    if "kivy" in sys.modules:
        raise RuntimeError("kivy was imported before kiosk.ui.bootstrap.prepare(): its environment is fixed")
    font = check_font(settings.font_file)
    home = Path(os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir()) / "kiosk-ui-kivy"
    home.mkdir(mode=0o700, exist_ok=True)
    os.environ.update(kivy_environment(settings, home))
    logging.getLogger("kivy").addFilter(_NoMtdevNoise())

    from kivy.config import Config

    width, height = settings.size or (0, 0)
    if settings.size is not None:
        Config.set("graphics", "width", str(width))
        Config.set("graphics", "height", str(height))
    Config.set("graphics", "fullscreen", "auto" if settings.fullscreen else "0")
    Config.set("graphics", "borderless", "1" if settings.fullscreen else "0")
    Config.set("graphics", "resizable", "0" if settings.fullscreen else "1")
    Config.set("graphics", "maxfps", str(MAX_FPS))
    Config.set("graphics", "multisamples", "0")  # software GL on a Pi: antialiasing costs too much
    Config.set("graphics", "show_cursor", "1" if settings.input == "mouse" else "0")
    Config.set("kivy", "exit_on_escape", "0")
    Config.set("kivy", "keyboard_mode", "system")
    Config.remove_section("input")
    Config.add_section("input")
    for name, provider in input_providers(settings).items():
        Config.set("input", name, provider)

    from kivy.core.text import DEFAULT_FONT, LabelBase

    LabelBase.register(DEFAULT_FONT, str(font))
    _prepared = settings
