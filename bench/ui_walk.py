"""Walks a running kiosk-ui through every screen, in Chinese and then in English (``bench/ui.py``'s memory figure).

It runs inside the UI process (``bench/ui_probe.py --walk``), on Kivy's main thread, once the live idle screen is
up. Each step puts one screen (or page) up and leaves it for :data:`STEP_S`, so it is laid out and drawn:

1. the rider's own screens through a real identification: "My points" asks core to identify the rider, a code is
   issued and scanned by core's simulator (``POST /api/sim/codes``, off the main thread), core shows the rider's
   points; then a spend's confirmation, the rider's screen, services with a booking's confirmation;
2. every kind of core screen a rider can meet (swap steps and endings, refusals, the entry), handed to the app as
   core would hand them (numbered far above core's own, so they never collide with them);
3. the UI's own screens (services, nearby, feedback with its keyboard), maintenance, out of service.

When it is done it goes back to idle and prints ``kiosk-ui-probe walked <steps> idle <time.monotonic()>``.
Nothing in ``kiosk/ui`` is changed for this: the walk calls what the screens' buttons call.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import requests

from kiosk.api.screen import Screen
from kiosk.ui.i18n import Language
from kiosk.ui.views import UiScreen

STEP_S = 0.25
"""How long each screen stays up (several frames: laid out, its texts rendered, drawn)."""
WAIT_S = 15.0
"""The most a step waits for core (an identification, content)."""
CORE_SCREENS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("rider.identify", {"purpose": "points", "seconds": 30}),
    ("swap.open_return_bay", {"bay": 7, "seconds": 120}),
    ("swap.no_battery", {"bay": 7, "can_reopen": True}),
    ("swap.take_back", {"bay": 7, "reason": "foreign", "seconds": 120}),
    ("swap.take_charged", {"bay": 2, "seconds": 120}),
    ("swap.done", {"bay": 2}),
    ("swap.ended", {"outcome": "abandoned"}),
    ("swap.ended", {"outcome": "bay_fault"}),
    ("swap.refused", {"reason": "no_charged_battery"}),
    ("swap.refused", {"reason": "too_soon", "wait_s": 130.0}),
    ("swap.busy", {}),
    ("code.refused", {"reason": "expired", "message_zh": "过期", "message_en": "expired"}),
    ("scan.unreadable", {"reason": "garbled"}),
    ("entry.welcome", {}),
    ("entry.refused", {"reason": "revoked"}),
    ("entry.fault", {"reason": "strike did not answer"}),
    ("points.take_item", {"bay": 13, "item_id": "water", "seconds": 60}),
)
INJECTED_FROM = 1_000_000
"""Numbers of the screens the walk hands the app (core's own count from 1)."""

Step = tuple[str, Callable[[Any], None], Callable[[Any], bool] | None]
"""A step's name, what it does to the app, and what it waits for first (None: nothing)."""


def _scan_code(app: Any, rider_id: str) -> None:
    """Have core's simulator issue a code for ``rider_id`` and scan it (an HTTP call: off the main thread)."""
    settings = app.settings
    token = settings.token_file.read_text(encoding="utf-8").strip()

    def post() -> None:
        requests.post(
            f"{settings.api_url.rstrip('/')}/api/sim/codes",
            json={"rider_id": rider_id, "scan": True},
            headers={"Authorization": f"Bearer {token}"},
            timeout=5,
        ).raise_for_status()

    threading.Thread(target=post, name="walk-scan", daemon=True).start()


class Walk:
    """The steps, run one after another on Kivy's clock."""

    def __init__(self, app: Any, say: Callable[[str, int, str, float], None]) -> None:
        self.app = app
        self.say = say
        self.number = INJECTED_FROM
        self.steps: list[Step] = []
        for language in (Language.ZH, Language.EN):
            self.steps += self._pass(language)
        self.index = 0
        self.waiting_since: float | None = None

    # --- the steps ---------------------------------------------------------------------------------------------

    def _pass(self, language: Language) -> list[Step]:
        lang = language.value
        rider = f"R-walk-{'zh' if language is Language.ZH else 'en'}"
        steps: list[Step] = [
            ("idle", lambda app: self._core(app, "idle", {}), None),
            ("points.ask", lambda app: app.services.ask_points(), None),
            ("points.scan", lambda app: _scan_code(app, rider), lambda app: _showing(app, UiScreen.IDENTIFY)),
            ("points.balance", lambda app: None, _points_known),
            ("points.confirm", _spend_question, None),
            ("points.cancel", lambda app: app.screens[UiScreen.POINTS].cancel(), None),
            ("rider", lambda app: app.services.close_local(), None),
            ("services", lambda app: app.services.open_local(UiScreen.SERVICES), _content_known),
            ("services.list", _first_category, None),
            ("services.details", _bookable_service, None),
            ("services.confirm", _slot_question, None),
            ("rider.done", lambda app: app.finish(), None),
        ]
        steps += [(name, self._core_step(name, params), None) for name, params in CORE_SCREENS]
        steps += [
            ("idle.again", lambda app: self._core(app, "idle", {}), None),
            ("nearby", lambda app: app.services.open_local(UiScreen.NEARBY), None),
            ("feedback", lambda app: app.services.open_local(UiScreen.FEEDBACK), None),
            ("feedback.topic", lambda app: app.screens[UiScreen.FEEDBACK].rate(4), None),
            ("feedback.send", lambda app: app.screens[UiScreen.FEEDBACK].choose_topic("drinks_snacks"), None),
            ("feedback.words", lambda app: app.screens[UiScreen.FEEDBACK].open_keyboard(), None),
            ("feedback.typed", lambda app: app.screens[UiScreen.FEEDBACK].type_text("more water"), None),
            ("feedback.back", lambda app: app.services.close_local(), None),
            ("maintenance", lambda app: app.open_maintenance(), None),
            ("maintenance.status", _enter_pin, None),
            ("maintenance.out", lambda app: app.dismiss(), None),
            ("out_of_service", lambda app: app.on_link(False, "walk"), None),
            ("back", lambda app: app.on_link(True, "walk"), None),
        ]
        # Entering idle puts the station's own language back, so every step says which one it wants.
        return [(f"{lang}:{name}", _in(language, act), ready) for name, act, ready in steps]

    def _core(self, app: Any, name: str, params: dict[str, Any]) -> None:
        self.number += 1
        app.on_screen(Screen(number=self.number, name=name, params=params, mono=app.monotonic()))

    def _core_step(self, name: str, params: dict[str, Any]) -> Callable[[Any], None]:
        return lambda app: self._core(app, name, params)

    # --- running -------------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Begin at the next frame."""
        from kivy.clock import Clock

        Clock.schedule_once(self._next, 0)

    def _next(self, _dt: float) -> None:
        from kivy.clock import Clock

        if self.index >= len(self.steps):
            self.app.finish()
            self._core(self.app, "idle", {})
            self.app.set_language(self.app.settings.language)
            Clock.schedule_once(lambda _dt: self.say("walked", len(self.steps), "idle", time.monotonic()), STEP_S)
            return
        name, act, ready = self.steps[self.index]
        if ready is not None and not ready(self.app):
            now = time.monotonic()
            self.waiting_since = self.waiting_since or now
            if now - self.waiting_since > WAIT_S:
                raise RuntimeError(f"the walk waited {WAIT_S:g} s for {name} in vain")
            Clock.schedule_once(self._next, 0.05)
            return
        self.waiting_since = None
        act(self.app)
        self.index += 1
        Clock.schedule_once(self._next, STEP_S)


def _in(language: Language, act: Callable[[Any], None]) -> Callable[[Any], None]:
    def step(app: Any) -> None:
        act(app)
        if app.lang != language.value:
            app.set_language(language)

    return step


def _enter_pin(app: Any) -> None:
    """Type the staff PIN on the pad (the bench gives the UI one), then OK: the status summary."""
    from kiosk.ui.screens.maintenance.maintenance import KEYS

    pad, pin = app.screens[UiScreen.MAINTENANCE], app.settings.maintenance_pin
    if pin is None or not app.maintenance:
        return
    for digit in pin:
        pad.press(KEYS.index(digit))
    pad.press(KEYS.index("OK"))


def _showing(app: Any, screen: UiScreen) -> bool:
    return bool(app.current.screen is screen)


def _points_known(app: Any) -> bool:
    return _showing(app, UiScreen.POINTS) and app.services.rider is not None and app.services.content is not None


def _content_known(app: Any) -> bool:
    return app.services.content is not None


def _spend_question(app: Any) -> None:
    catalogue = app.services.content.catalogue if app.services.content is not None else []
    if catalogue:
        app.screens[UiScreen.POINTS].choose(catalogue[0])


def _first_category(app: Any) -> None:
    services = app.services.content.services if app.services.content is not None else []
    if services:
        app.screens[UiScreen.SERVICES].open_category(services[0].category)


def _bookable_service(app: Any) -> None:
    services = app.services.content.services if app.services.content is not None else []
    chosen = next((s for s in services if s.bookable and s.slots), services[0] if services else None)
    if chosen is not None:
        app.screens[UiScreen.SERVICES].open_service(chosen)


def _slot_question(app: Any) -> None:
    screen = app.screens[UiScreen.SERVICES]
    if screen.service is not None and screen.service.bookable and screen.service.slots:
        screen.choose_slot(screen.service.slots[0])
