"""What the battery-safety supervisor's status means for the touchscreen, as plain data (no Kivy).

Core's ``/api/status`` carries ``components.safety``: the cabinet's level and each bay's. The screen
follows the supervisor's rules and adds none of its own:

- the cabinet at ``fire`` (smoke, or a bay burning): the evacuation screen takes over whatever is shown,
  in Chinese and English at once, with nothing to press. It stays while core is unreachable (a fire
  latches until staff reset it, and a screen that went back to "scan your code" would invite riders in);
- the cabinet at ``alarm`` (its air too hot): idle becomes a calm "swaps are paused";
- a bay at ``alarm`` or ``fire``: a calm line on every screen says that bay is out of service while the
  rest of the station works (the cabinet already keeps it shut and swaps do not pick it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kiosk.ui.i18n import N_
from kiosk.ui.views import Msg, Tone, UiScreen, View

EVACUATE = View(UiScreen.EVACUATE, Tone.BAD, terminal=False)
"""The evacuation screen (its words are fixed, in both languages: see evacuate.kv)."""
PAUSED = View(
    UiScreen.OUT_OF_SERVICE,
    Tone.WARN,
    Msg(N_("Swaps are paused")),
    Msg(N_("The station is being checked for safety. Please use a nearby station.")),
    hint=Msg(N_("Staff have been told.")),
    terminal=False,
)
"""Idle while the cabinet is in a safety alarm."""


@dataclass(frozen=True)
class SafetyShown:
    """The safety facts the screen shows (all clear by default: a missing status must not alarm anyone)."""

    fire: bool = False
    cabinet_alarm: bool = False
    bays_out: tuple[int, ...] = ()
    """Bays in a safety alarm or fire, ascending."""


_OUT = frozenset({"alarm", "fire"})


def safety_of(status: Mapping[str, Any] | None, before: SafetyShown | None = None) -> SafetyShown:
    """The safety facts in ``status``; while there is no status (core unreachable) a fire stays shown."""
    if status is None:
        return SafetyShown(fire=True) if before is not None and before.fire else SafetyShown()
    components = status.get("components")
    safety = components.get("safety") if isinstance(components, Mapping) else None
    if not isinstance(safety, Mapping):
        return SafetyShown()
    cabinet = safety.get("cabinet")
    cabinet_level = cabinet.get("level") if isinstance(cabinet, Mapping) else None
    bays = safety.get("bays")
    levels: dict[int, str] = {}
    for number, bay in bays.items() if isinstance(bays, Mapping) else ():
        level = bay.get("level") if isinstance(bay, Mapping) else None
        if str(number).isdigit() and isinstance(level, str):
            levels[int(number)] = level
    return SafetyShown(
        fire=cabinet_level == "fire" or "fire" in levels.values(),
        cabinet_alarm=cabinet_level == "alarm",
        bays_out=tuple(sorted(n for n, level in levels.items() if level in _OUT)),
    )


def out_of_service_line(shown: SafetyShown) -> Msg | None:
    """The calm line about bays in a safety alarm (None when there are none, or the cabinet is on fire)."""
    if shown.fire or not shown.bays_out:
        return None
    if len(shown.bays_out) == 1:
        return Msg(N_("Bay {bay} is out of service. The other bays work as usual."), {"bay": shown.bays_out[0]})
    return Msg(N_("Bays {bays} are out of service. The other bays work as usual."), {"bays": BayList(shown.bays_out)})


class BayList(Msg):
    """Bay numbers joined the way the language lists them ("3, 5" / "3、5")."""

    def __init__(self, bays: tuple[int, ...]) -> None:
        super().__init__(N_(", "), {"bays": bays})

    def render(self, gettext: Any) -> str:
        """The numbers with the language's list separator."""
        separator: str = gettext(self.msgid)
        return separator.join(str(n) for n in self.params["bays"])
