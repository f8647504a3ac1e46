"""What each of core's screens means for the rider, as plain data (no Kivy): which UI screen, which words.

Every rider-facing sentence is a catalog msgid (English source, marked with ``N_``) with ``{name}``
fields filled after translation, so the words live in one place and both languages stay complete.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kiosk.api.screen import Screen
from kiosk.ui.i18n import N_


class UiScreen(enum.StrEnum):
    """The screens of the registry."""

    IDLE = "idle"
    RIDER = "rider"
    SWAP = "swap"
    ENTRY = "entry"
    REFUSAL = "refusal"
    OUT_OF_SERVICE = "out_of_service"
    MAINTENANCE = "maintenance"
    IDENTIFY = "identify"
    SERVICES = "services"
    POINTS = "points"
    FEEDBACK = "feedback"
    NEARBY = "nearby"
    EVACUATE = "evacuate"


class Tone(enum.StrEnum):
    """How a message feels: it sets the colour band, so a rider reads the mood before the words."""

    INFO = "info"
    GOOD = "good"
    WARN = "warn"
    BAD = "bad"


class SwapStep(enum.IntEnum):
    """Where the rider is in a swap (the step bar)."""

    RETURN = 1
    COLLECT = 2
    DONE = 3


@dataclass(frozen=True)
class Msg:
    """A catalog msgid and the values for its ``{fields}``."""

    msgid: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def render(self, gettext: Any) -> str:
        """The text in the language ``gettext`` speaks."""
        text: str = gettext(self.msgid)
        if not self.params:
            return text
        # A field may itself be a sentence (a booking's status): it is put in the same language.
        return text.format(**{k: v.render(gettext) if isinstance(v, Msg) else v for k, v in self.params.items()})


@dataclass(frozen=True)
class Nearby:
    """A nearby station with charged batteries (from the hub's bundle)."""

    name: str
    name_en: str
    distance_m: float
    charged: int

    def distance(self) -> str:
        """Metres under a kilometre, else kilometres with one decimal (the same in both languages)."""
        if self.distance_m < 1000:
            return f"{round(self.distance_m / 10) * 10:.0f} m"
        return f"{self.distance_m / 1000:.1f} km"


@dataclass(frozen=True)
class View:
    """Everything a screen shows for one of core's screens."""

    screen: UiScreen
    tone: Tone = Tone.INFO
    title: Msg = Msg("")
    body: Msg = Msg("")
    hint: Msg | None = None
    bay: int | None = None
    seconds: float | None = None
    """Length of the wait the rider is in (s): the countdown."""
    step: SwapStep | None = None
    can_reopen: bool = False
    nearby: tuple[Nearby, ...] = ()
    terminal: bool = True
    """Nothing more will happen by itself: inactivity takes the screen back to idle."""
    core_text: Mapping[str, str] = field(default_factory=dict)
    """Core's own words by language (used only for a reason this UI does not know)."""
    purpose: str = ""
    """Why the rider was identified (core's ``rider`` and ``rider.identify`` screens)."""


RIDER_PURPOSE_SCREENS: dict[str, UiScreen] = {
    "rider": UiScreen.RIDER,
    "points": UiScreen.POINTS,
    "booking": UiScreen.SERVICES,
    "feedback": UiScreen.FEEDBACK,
}
"""Which screen opens once the rider's code identified them, by the purpose the scan was asked for."""
RIDER_SCREENS = frozenset(RIDER_PURPOSE_SCREENS.values())


CODE_REFUSALS: dict[str, tuple[str, str]] = {
    "bad_encoding": (
        N_("This is not a station code"),
        N_("Open the station code in your rider app and scan it again."),
    ),
    "unknown_key": (
        N_("This station does not know your code yet"),
        N_("Refresh the code in your rider app, then scan again."),
    ),
    "key_not_valid": (
        N_("This code can no longer be used here"),
        N_("Refresh the code in your rider app, then scan again."),
    ),
    "bad_signature": (
        N_("This code is not valid"),
        N_("Refresh the code in your rider app, then scan again."),
    ),
    "expired": (
        N_("This code has expired"),
        N_("Codes last a few minutes. Refresh it in your rider app, then scan again."),
    ),
    "not_yet_valid": (
        N_("This code is not valid yet"),
        N_("Check the time on your phone, refresh the code, then scan again."),
    ),
    "wrong_scope": (
        N_("This code is for something else"),
        N_("In your rider app choose the right code (battery swap or door), then scan again."),
    ),
    "revoked": (
        N_("Your account cannot use this station now"),
        N_("Please call station support: the number is on the cabinet."),
    ),
    "nonce_used": (
        N_("This code was already used"),
        N_("Each code works once. Refresh it in your rider app, then scan again."),
    ),
}
"""Why a code was refused, in words for a tired rider, and what to do next."""

SWAP_ENDINGS: dict[str, tuple[Tone, str, str]] = {
    "completed": (Tone.GOOD, N_("Swap complete"), N_("Ride safely!")),
    "foreign_battery": (
        Tone.BAD,
        N_("Battery not accepted"),
        N_("That battery is not from our network, so the station cannot take it. Use a battery rented from us."),
    ),
    "refused_battery": (
        Tone.BAD,
        N_("Battery not accepted"),
        N_("That battery is retired or worn out, so the station cannot charge it. Return it to your provider."),
    ),
    "faulty_battery": (
        Tone.BAD,
        N_("Battery not accepted"),
        N_("That battery reports a fault. Please ask your battery provider to check it."),
    ),
    "abandoned": (
        Tone.WARN,
        N_("Swap cancelled"),
        N_("No battery was put in, so nothing was swapped. Scan your code again when you are ready."),
    ),
    "not_collected": (
        Tone.WARN,
        N_("Charged battery not taken"),
        N_("The charged battery stayed locked in its bay. If you still need it, call station support."),
    ),
    "bay_fault": (
        Tone.BAD,
        N_("A bay is out of order"),
        N_("A bay did not work, so the swap stopped. Scan again to use another bay, or call station support."),
    ),
    "no_capacity": (
        Tone.WARN,
        N_("No swap possible right now"),
        N_("There is no free bay or no charged battery. Try a nearby station or come back later."),
    ),
    "too_soon": (
        Tone.WARN,
        N_("Too soon for another swap"),
        N_("Please wait a few minutes before your next swap."),
    ),
}
"""How a swap ended (``swap.ended``'s outcome) in plain words."""

TAKE_BACK_REASONS: dict[str, str] = {
    "foreign": N_("This battery is not from our network, so the station cannot take it."),
    "faulty": N_("This battery reports a fault, so the station cannot take it."),
    "unknown": N_("This battery is not registered with the city, so the station cannot charge it."),
    "retired": N_("This battery has been retired from service, so the station cannot charge it."),
    "low_soh": N_("This battery is worn out (its health is too low), so the station cannot charge it."),
    "unreadable": N_("The station could not check this battery."),
    "no_charged_battery": N_("There is no charged battery for you right now."),
    "bay_fault": N_("The bay with your charged battery would not open."),
}
"""Why the returned battery is handed back (``swap.take_back``'s reason)."""

SWAP_REFUSALS: dict[str, tuple[str, str]] = {
    "no_charged_battery": (
        N_("No charged battery right now"),
        N_("All batteries here are still charging. Try a nearby station or come back later."),
    ),
    "no_empty_bay": (
        N_("No free bay for your battery"),
        N_("Every bay is full right now. Try a nearby station or come back later."),
    ),
}


def _int(params: Mapping[str, Any], key: str) -> int | None:
    value = params.get(key)
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _float(params: Mapping[str, Any], key: str) -> float | None:
    value = params.get(key)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _nearby(params: Mapping[str, Any]) -> tuple[Nearby, ...]:
    rows = params.get("nearby")
    out: list[Nearby] = []
    if not isinstance(rows, list):
        return ()
    for row in rows:
        if not isinstance(row, dict):
            continue
        try:
            out.append(
                Nearby(
                    name=str(row.get("name") or row.get("station_id") or "?"),
                    name_en=str(row.get("name_en") or row.get("name") or row.get("station_id") or "?"),
                    distance_m=float(row.get("distance_m") or 0.0),
                    charged=int(row.get("charged_batteries") or 0),
                )
            )
        except (TypeError, ValueError):
            continue
    # Listed under "with charged batteries": a station that has none is no help to a rider in a hurry.
    return tuple(n for n in out if n.charged > 0)[:3]


def _code_refusal(reason: str, params: Mapping[str, Any], screen: UiScreen, title: str | None = None) -> View:
    head, todo = CODE_REFUSALS.get(reason, (N_("This code cannot be used"), ""))
    core = {k: str(params[k]) for k in ("message_zh", "message_en") if isinstance(params.get(k), str)}
    return View(
        screen,
        Tone.BAD,
        Msg(title or head),
        Msg(todo) if todo else Msg(""),
        hint=Msg(head) if title else None,
        core_text=core if not todo else {},
    )


def _swap_view(name: str, params: Mapping[str, Any]) -> View:
    bay = _int(params, "bay")
    seconds = _float(params, "seconds")
    where = {"bay": bay if bay is not None else "?"}
    if name == "swap.open_return_bay":
        return View(
            UiScreen.SWAP,
            Tone.INFO,
            Msg(N_("Bay {bay} is open"), where),
            Msg(N_("Put your flat battery in and close the door."), where),
            bay=bay,
            seconds=seconds,
            step=SwapStep.RETURN,
            terminal=False,
        )
    if name == "swap.no_battery":
        can_reopen = bool(params.get("can_reopen"))
        body = (
            N_("The door closed with nothing inside. Tap the button to open it again.")
            if can_reopen
            else N_("The door closed with nothing inside. Scan your code again to start over.")
        )
        return View(
            UiScreen.SWAP,
            Tone.WARN,
            Msg(N_("No battery in bay {bay}"), where),
            Msg(body),
            bay=bay,
            step=SwapStep.RETURN,
            can_reopen=can_reopen,
            terminal=not can_reopen,
        )
    if name == "swap.take_back":
        reason = str(params.get("reason", ""))
        return View(
            UiScreen.SWAP,
            Tone.BAD,
            Msg(N_("Take your battery back from bay {bay}"), where),
            Msg(TAKE_BACK_REASONS.get(reason, N_("The station cannot take this battery."))),
            hint=Msg(N_("Then close the door.")),
            bay=bay,
            seconds=seconds,
            step=SwapStep.RETURN,
            terminal=False,
        )
    if name == "swap.take_charged":
        return View(
            UiScreen.SWAP,
            Tone.GOOD,
            Msg(N_("Take your charged battery from bay {bay}"), where),
            Msg(N_("Take the battery out and close the door.")),
            bay=bay,
            seconds=seconds,
            step=SwapStep.COLLECT,
            terminal=False,
        )
    if name == "swap.done" or (name == "swap.ended" and params.get("outcome") == "completed"):
        return View(
            UiScreen.SWAP,
            Tone.GOOD,
            Msg(N_("Swap complete")),
            Msg(N_("Ride safely! Please close every door you opened.")),
            bay=bay,
            step=SwapStep.DONE,
        )
    outcome = str(params.get("outcome", ""))
    tone, title, body = SWAP_ENDINGS.get(
        outcome, (Tone.WARN, N_("The swap has ended"), N_("Scan your code again if you need another swap."))
    )
    return View(UiScreen.SWAP, tone, Msg(title), Msg(body))


def _refusal_view(name: str, params: Mapping[str, Any]) -> View:
    if name == "code.refused":
        return _code_refusal(str(params.get("reason", "")), params, UiScreen.REFUSAL)
    if name == "swap.busy":
        return View(
            UiScreen.REFUSAL,
            Tone.WARN,
            Msg(N_("Another swap is in progress")),
            Msg(N_("Please wait until the rider before you has finished, then scan again.")),
        )
    if name == "scan.unreadable":
        return View(
            UiScreen.REFUSAL,
            Tone.WARN,
            Msg(N_("The code could not be read")),
            Msg(N_("Turn your screen brightness up and hold the code still under the scanner.")),
        )
    reason = str(params.get("reason", ""))
    nearby = _nearby(params)
    if reason == "too_soon":
        wait_s = _float(params, "wait_s") or 60.0
        minutes = max(1, math.ceil(wait_s / 60.0))
        return View(
            UiScreen.REFUSAL,
            Tone.WARN,
            Msg(N_("Too soon for another swap")),
            Msg(N_("You can swap again in {minutes} min."), {"minutes": minutes}),
        )
    title, body = SWAP_REFUSALS.get(
        reason, (N_("No swap possible right now"), N_("Try a nearby station or come back later."))
    )
    hint = Msg(N_("Nearby stations with charged batteries:")) if nearby else None
    return View(UiScreen.REFUSAL, Tone.WARN, Msg(title), Msg(body), hint=hint, nearby=nearby)


def _entry_view(name: str, params: Mapping[str, Any]) -> View:
    if name == "entry.welcome":
        return View(
            UiScreen.ENTRY,
            Tone.GOOD,
            Msg(N_("Welcome! The door is open")),
            Msg(N_("Push the door to come in, and close it behind you.")),
        )
    if name == "entry.refused":
        return _code_refusal(str(params.get("reason", "")), params, UiScreen.ENTRY, N_("The door stays closed"))
    return View(
        UiScreen.ENTRY,
        Tone.BAD,
        Msg(N_("The door did not open")),
        Msg(N_("Please scan again. If it still does not open, call station support.")),
    )


def view_of(screen: Screen) -> View:
    """What to show for one of core's screens (an unknown name shows idle: never a blank screen)."""
    name, params = screen.name, screen.params
    family = name.partition(".")[0]
    if name in ("swap.refused", "swap.busy", "code.refused", "scan.unreadable"):
        return _refusal_view(name, params)
    if family == "swap":
        return _swap_view(name, params)
    if family == "entry":
        return _entry_view(name, params)
    if name == "rider":
        return _rider_view(params)
    if name == "rider.identify":
        purpose = str(params.get("purpose") or "rider")
        seconds = _float(params, "seconds")
        deadline = _float(params, "deadline")
        if seconds is None and deadline is not None:
            seconds = max(0.0, deadline - screen.mono)  # core's deadline is on the shared monotonic clock
        return View(
            UiScreen.IDENTIFY,
            Tone.INFO,
            Msg(N_("Scan your code now")),
            seconds=seconds,
            terminal=False,
            purpose=purpose,
        )
    if name == "points.take_item":
        return _take_item_view(params)
    return View(UiScreen.IDLE, terminal=False)


def _rider_view(params: Mapping[str, Any]) -> View:
    rider = str(params.get("name") or params.get("rider_id") or "")
    points = _int(params, "balance")
    if points is None:
        points = _int(params, "points")
    purpose = str(params.get("purpose") or "rider")
    return View(
        RIDER_PURPOSE_SCREENS.get(purpose, UiScreen.RIDER),
        Tone.INFO,
        Msg(N_("Hello, {name}"), {"name": rider}) if rider else Msg(N_("Hello")),
        Msg(N_("Points: {points}"), {"points": points}) if points is not None else Msg(""),
        purpose=purpose,
    )


def _take_item_view(params: Mapping[str, Any]) -> View:
    bay = _int(params, "bay")
    return View(
        UiScreen.SWAP,
        Tone.GOOD,
        Msg(N_("Take your item from bay {bay}"), {"bay": bay if bay is not None else "?"}),
        Msg(N_("Then close the door. Enjoy!")),
        bay=bay,
        seconds=_float(params, "seconds"),
    )


def countdown(seconds: float | None, shown_at: float, now: float) -> int | None:
    """Whole seconds left of a wait of ``seconds`` that started at ``shown_at`` (never negative)."""
    if seconds is None:
        return None
    return max(0, math.ceil(seconds - (now - shown_at)))


# --- the station's status, as the screens need it ----------------------------------------------------


def bay_numbers(status: Mapping[str, Any] | None) -> list[int]:
    """The cabinet's bay numbers, ascending (empty when unknown)."""
    bays = _cabinet(status).get("bays")
    if not isinstance(bays, dict):
        return []
    return sorted(int(n) for n in bays if str(n).isdigit())


def faulted_bays(status: Mapping[str, Any] | None) -> set[int]:
    """Bays with a fault or taken out of service."""
    bays = _cabinet(status).get("bays")
    out: set[int] = set()
    if isinstance(bays, dict):
        out |= {int(n) for n, b in bays.items() if isinstance(b, dict) and b.get("fault")}
    station = _component(status, "station")
    oos = station.get("out_of_service")
    if isinstance(oos, dict):
        out |= {int(n) for n in oos if str(n).isdigit()}
    return out


def charged_count(status: Mapping[str, Any] | None, charged_soc_pct: float = 95.0) -> int | None:
    """Charged batteries a rider could get now; core's own count when it gives one (``None``: unknown)."""
    station = _component(status, "station")
    given = station.get("charged_batteries")
    if isinstance(given, int):
        return given
    bays = _cabinet(status).get("bays")
    if not isinstance(bays, dict):
        return None
    bad = faulted_bays(status)
    count = 0
    for number, bay in bays.items():
        battery = bay.get("battery") if isinstance(bay, dict) else None
        if not isinstance(battery, dict) or not battery.get("present") or int(number) in bad:
            continue
        soc = battery.get("soc_pct")
        if isinstance(soc, int | float) and soc >= charged_soc_pct and not battery.get("fault_flags"):
            count += 1
    return count


def online(status: Mapping[str, Any] | None) -> bool:
    """Whether the station is in touch with the city hub (riders are served either way)."""
    sync = (status or {}).get("sync")
    if not isinstance(sync, dict) or not sync.get("enabled"):
        return False
    return bool(sync.get("last_success")) and not sync.get("last_error")


def cabinet_usable(status: Mapping[str, Any] | None) -> bool:
    """False when the cabinet cannot serve anyone: its component is not running or every bay is faulted.

    Unknown (no status yet) counts as usable: a missing status must not close the station.
    """
    if status is None:
        return True
    cabinet = _component(status, "cabinet")
    if not cabinet:
        return True
    if cabinet.get("state", "running") != "running":
        return False
    numbers = bay_numbers(status)
    return not numbers or not set(numbers) <= faulted_bays(status)


def cabinet_grid(bays: list[int], portrait: bool = False) -> int:
    """How many columns the cabinet diagram has: bays fill rows of this many, left to right, top down."""
    count = len(bays)
    if count <= 4:
        return max(count, 1)
    rows = 2 if not portrait else math.ceil(math.sqrt(count))
    return math.ceil(count / rows)


def _component(status: Mapping[str, Any] | None, name: str) -> Mapping[str, Any]:
    components = (status or {}).get("components")
    part = components.get(name) if isinstance(components, dict) else None
    return part if isinstance(part, dict) else {}


def _cabinet(status: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return _component(status, "cabinet")
