"""The screen registry: one folder per screen (``<name>/<name>.py`` + ``<name>/<name>.kv``).

Each ``.kv`` file is loaded once, by :func:`load_kv`, before the first screen is built.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from pathlib import Path

from kiosk.ui.screens.base import KioskScreen
from kiosk.ui.views import UiScreen

HERE = Path(__file__).parent
WIDGETS_KV = HERE.parent / "widgets.kv"


@dataclass(frozen=True)
class ScreenSpec:
    """Where a screen's class and layout live."""

    name: UiScreen
    class_name: str

    @property
    def module(self) -> str:
        """The Python module of the screen's class."""
        return f"kiosk.ui.screens.{self.name.value}.{self.name.value}"

    @property
    def kv(self) -> Path:
        """The screen's layout file."""
        return HERE / self.name.value / f"{self.name.value}.kv"


REGISTRY: dict[UiScreen, ScreenSpec] = {
    spec.name: spec
    for spec in (
        ScreenSpec(UiScreen.IDLE, "IdleScreen"),
        ScreenSpec(UiScreen.RIDER, "RiderScreen"),
        ScreenSpec(UiScreen.SWAP, "SwapScreen"),
        ScreenSpec(UiScreen.ENTRY, "EntryScreen"),
        ScreenSpec(UiScreen.REFUSAL, "RefusalScreen"),
        ScreenSpec(UiScreen.OUT_OF_SERVICE, "OutOfServiceScreen"),
        ScreenSpec(UiScreen.MAINTENANCE, "MaintenanceScreen"),
        ScreenSpec(UiScreen.IDENTIFY, "IdentifyScreen"),
        ScreenSpec(UiScreen.SERVICES, "ServicesScreen"),
        ScreenSpec(UiScreen.POINTS, "PointsScreen"),
        ScreenSpec(UiScreen.FEEDBACK, "FeedbackScreen"),
        ScreenSpec(UiScreen.NEARBY, "NearbyScreen"),
        ScreenSpec(UiScreen.EVACUATE, "EvacuateScreen"),
    )
}

_loaded: set[Path] = set()


def load_kv() -> None:
    """Load the shared widgets' and every screen's layout, each once per process."""
    from kivy.lang import Builder

    for path in (WIDGETS_KV, *(spec.kv for spec in REGISTRY.values())):
        if path not in _loaded:
            Builder.load_file(str(path))
            _loaded.add(path)


def build_screens() -> dict[UiScreen, KioskScreen]:
    """One instance of every registered screen (after :func:`load_kv`)."""
    load_kv()
    screens: dict[UiScreen, KioskScreen] = {}
    for name, spec in REGISTRY.items():
        cls = getattr(import_module(spec.module), spec.class_name)
        screens[name] = cls()
    return screens
