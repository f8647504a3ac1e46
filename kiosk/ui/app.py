"""The Kivy app: follows core's screen, switches the registry's screens, keeps time, language and idleness.

Everything here runs on Kivy's main thread; the :class:`~kiosk.ui.client.CoreClient` posts core's news
here through :meth:`KioskApp.post`. What is shown is decided in one place, :meth:`KioskApp.refresh`:

0. the cabinet in a fire alarm → the evacuation screen, over everything (also while core is unreachable);
1. core unreachable → out of service (staff may still be in maintenance);
2. maintenance open → maintenance;
3. the screen core asked for, unless the rider dismissed it or it timed out → then idle;
4. idle while the cabinet is in a safety alarm → swaps paused; idle while it cannot serve anyone → out of
   service.

A bay in a safety alarm is named in a calm line under the header (:mod:`kiosk.ui.safety_views`).

Between 2 and 3 come the UI's own screens (services, points, feedback, nearby) the rider opened: they
stay until core says something new, the rider leaves them, or nobody touches the screen for a while.
A rider who must be known (points, a booking, signed feedback) is asked to scan first: core shows
``rider.identify``, then ``rider`` with the purpose, which opens that screen; what the rider was doing
(the booking, the feedback) is then sent. Every call to core runs off the main thread (the link's
``call``); its answer comes back here.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol, TypeVar
from zoneinfo import ZoneInfo

from kivy.app import App
from kivy.clock import Clock
from kivy.factory import Factory
from kivy.properties import BooleanProperty, NumericProperty, StringProperty

from kiosk.api.models import Status
from kiosk.api.screen import Screen
from kiosk.ui.calls import Call, Done
from kiosk.ui.client import CoreListener, Post
from kiosk.ui.i18n import Language, Translator
from kiosk.ui.rider_host import LOCAL_SCREENS, RiderServices
from kiosk.ui.safety_views import EVACUATE, PAUSED, SafetyShown, out_of_service_line, safety_of
from kiosk.ui.screens import build_screens
from kiosk.ui.screens.base import KioskScreen
from kiosk.ui.screens.feedback.feedback import FeedbackScreen
from kiosk.ui.screens.idle.idle import IdleScreen
from kiosk.ui.screens.maintenance.maintenance import MaintenanceScreen
from kiosk.ui.screens.out_of_service.out_of_service import CABINET, REACHING
from kiosk.ui.screens.points.points import PointsScreen
from kiosk.ui.screens.rider.rider import RiderScreen
from kiosk.ui.screens.services.services import ServicesScreen
from kiosk.ui.screens.swap.swap import SwapScreen
from kiosk.ui.settings import UiSettings
from kiosk.ui.views import (
    RIDER_SCREENS,
    UiScreen,
    View,
    bay_numbers,
    cabinet_grid,
    cabinet_usable,
    charged_count,
    faulted_bays,
    online,
    view_of,
)

log = logging.getLogger(__name__)

T = TypeVar("T")

TICK_S = 1.0
CONTENT_EVERY_S = 300.0
"""How often idle asks core for the city's content again (it changes with a bundle, a few times a day)."""
IDLE = View(UiScreen.IDLE, terminal=False)


class Link(Protocol):
    """What the app needs from its link to core (the real one is :class:`~kiosk.ui.client.CoreClient`)."""

    def start(self) -> None:
        """Start following core."""

    def close(self) -> None:
        """Stop following core."""

    def request_reopen(self) -> None:
        """Ask core to open the return bay again (must not block)."""

    def call(self, call: Call[T], done: Done[T] | None = None) -> None:
        """Run one call to core's API off the main thread; ``done`` gets the answer on the main thread."""


LinkFactory = Callable[[CoreListener, Post], Link]


def post_to_main(fn: Callable[[], None]) -> None:
    """Run ``fn`` on Kivy's main thread at the next frame (Clock scheduling is thread-safe)."""
    Clock.schedule_once(lambda _dt: fn(), 0)


class KioskApp(App):  # type: ignore[misc]
    """kiosk-ui: one window, the registry's screens, driven by core's screen stream."""

    title = "kiosk-ui"
    lang = StringProperty(Language.ZH.value)
    touch = NumericProperty(80)
    """The least touch target (15 mm) in pixels for this display."""
    unit = NumericProperty(20)
    """The base font size in pixels for this display."""
    portrait = BooleanProperty(False)
    station_title = StringProperty("")
    now_text = StringProperty("")
    online = BooleanProperty(False)
    linked = BooleanProperty(False)
    fire = BooleanProperty(False)
    """The cabinet is in a fire alarm: the evacuation screen shows and the header offers nothing to press."""
    safety_line = StringProperty("")
    """The calm line about bays in a safety alarm ('' when there are none)."""

    def __init__(
        self,
        settings: UiSettings,
        link: LinkFactory | None = None,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.settings = settings
        self.translator = Translator(settings.language)
        self.lang = settings.language.value
        self.monotonic = monotonic
        self.link: Link | None = link(self, post_to_main) if link is not None else None
        self.screens: dict[UiScreen, KioskScreen] = {}
        self.status: dict[str, Any] | None = None
        self.core_screen: Screen | None = None
        self.core_view: View = IDLE
        self.core_shown_at = 0.0
        self.dismissed: int | None = None
        """Number of the core screen the rider (or inactivity) sent back to idle."""
        self.maintenance = False
        self.last_touch = monotonic()
        self.current: View = IDLE
        self._tick_event: Any = None
        self._zone = ZoneInfo(settings.timezone)
        self.services = RiderServices(self)
        self.safety = SafetyShown()

    # --- building ----------------------------------------------------------------------------

    def t(self, msgid: str, lang: str | None = None) -> str:
        """``msgid`` in the language shown (kv passes ``app.lang`` so texts follow the switch)."""
        return self.translator.gettext(msgid, Language(lang) if lang else None)

    def build(self) -> Any:
        """The root: header and the registry's screens in a ScreenManager."""
        from kivy.core.window import Window  # here, not at import: importing it opens the window

        self.screens = build_screens()
        root = Factory.RootView()
        manager = root.ids.manager
        for screen in self.screens.values():
            manager.add_widget(screen)
        rider = self.screens[UiScreen.RIDER]
        assert isinstance(rider, RiderScreen)
        rider.on_action = self.rider_action
        for screen in self.screens.values():
            screen.host = self.services
            screen.zone = self._zone
        Window.bind(size=self._on_window_size, on_touch_down=self._on_any_touch)
        self._on_window_size(Window, Window.size)
        self._update_station_title()
        self.refresh()
        self._render_all()
        self._tick(0)
        return root

    def on_start(self) -> None:
        """Follow core and start the once-a-second tick."""
        self._tick_event = Clock.schedule_interval(self._tick, TICK_S)
        if self.link is not None:
            self.link.start()

    def on_stop(self) -> None:
        """Stop following core."""
        if self._tick_event is not None:
            self._tick_event.cancel()
        from kivy.core.window import Window

        Window.unbind(size=self._on_window_size, on_touch_down=self._on_any_touch)
        if self.link is not None:
            self.link.close()

    def _on_window_size(self, _window: Any, size: tuple[int, int]) -> None:
        width, height = int(size[0]), int(size[1])
        self.touch = self.settings.touch_px(width, height)
        self.unit = max(12, min(width, height) // 24)
        self.portrait = height > width
        for screen in self.screens.values():
            if isinstance(screen, ServicesScreen | PointsScreen | FeedbackScreen):
                screen.set_portrait(self.portrait, self.t)
        swap = self.screens.get(UiScreen.SWAP)
        if isinstance(swap, SwapScreen):
            self._update_cabinet(swap)

    def _on_any_touch(self, _window: Any, _touch: Any) -> bool:
        self.last_touch = self.monotonic()
        return False  # let the widgets have it

    # --- what core says (on the main thread) ------------------------------------------------------

    def on_screen(self, screen: Screen) -> None:
        """Core's screen changed (or was repeated at a reconnect)."""
        known = self.core_screen
        if known is not None and known.number == screen.number and known.name == screen.name:
            return  # the same screen again after a reconnect: keep the rider's dismissal
        self.core_screen = screen
        self.core_view = view_of(screen)
        now = self.monotonic()
        seconds = self.core_view.seconds
        # Core and UI share the machine's monotonic clock: resume a countdown after a UI restart.
        age = now - screen.mono
        self.core_shown_at = screen.mono if seconds is not None and 0 <= age <= seconds else now
        self.dismissed = None
        self.maintenance = False
        self.services.core_changed()
        self.refresh()

    def on_status(self, status: Status) -> None:
        """A fresh status from core."""
        self.status = status.model_dump()
        self.online = online(self.status)
        self._update_safety()
        self._update_station_title()
        self._update_charged()
        swap = self.screens.get(UiScreen.SWAP)
        if isinstance(swap, SwapScreen):
            self._update_cabinet(swap)
        maintenance = self.screens.get(UiScreen.MAINTENANCE)
        if isinstance(maintenance, MaintenanceScreen):
            maintenance.set_status(self.status, self.linked)
        self.refresh()

    def on_link(self, up: bool, detail: str) -> None:
        """Core became reachable or not."""
        self.linked = up
        if not up:
            self.status = None
            self.online = False
            self._update_safety()
        maintenance = self.screens.get(UiScreen.MAINTENANCE)
        if isinstance(maintenance, MaintenanceScreen):
            maintenance.set_status(self.status, up)
        if up:
            self.services.ask_content()
        self.refresh()

    # --- deciding and showing -----------------------------------------------------------------------

    def wanted(self) -> tuple[View, float]:
        """What should be on the screen now, and when its wait started."""
        now = self.monotonic()
        if self.safety.fire:
            return EVACUATE, now
        if self.maintenance:
            return View(UiScreen.MAINTENANCE), now
        if not self.linked:
            return REACHING, now
        local: tuple[View, float] | None = self.services.local_view()
        if local is not None:
            return local
        view, shown_at = self.core_view, self.core_shown_at
        if self.core_screen is not None and self.dismissed == self.core_screen.number:
            view = IDLE
        if view.screen is UiScreen.IDLE and self.safety.cabinet_alarm:
            return PAUSED, now
        if view.screen is UiScreen.IDLE and not cabinet_usable(self.status):
            return CABINET, now
        return view, shown_at

    def refresh(self) -> None:
        """Show what :meth:`wanted` says (only touches widgets when something changed)."""
        if not self.screens:
            return
        view, shown_at = self.wanted()
        if view == self.current and self.root is not None and self.root.ids.manager.current == view.screen.value:
            return
        entering = view != self.current
        self.current = view
        screen = self.screens[view.screen]
        screen.language = self.lang
        if entering:
            screen.show(view, shown_at, self.t)
            self.services.push_data(screen)
            screen.tick(self.monotonic(), self.t)
            if view.screen is UiScreen.IDLE and self.lang != self.settings.language.value:
                self.set_language(self.settings.language)
        if self.root is not None:
            self.root.ids.manager.current = view.screen.value

    def dismiss(self) -> None:
        """The rider pressed OK/Done/Back: back to idle (until core says something new)."""
        if self.maintenance:
            self.maintenance = False
        elif self.core_screen is not None:
            self.dismissed = self.core_screen.number
        self.refresh()

    def open_maintenance(self) -> None:
        """The staff button: the PIN pad."""
        if not self._has_pin():
            return
        screen = self.screens[UiScreen.MAINTENANCE]
        assert isinstance(screen, MaintenanceScreen)
        screen.lock(self.settings.maintenance_pin)
        screen.set_status(self.status, self.linked)
        self.maintenance = True
        self.current = IDLE  # force a fresh show
        self.refresh()

    def request_reopen(self) -> None:
        """The rider asks for the return bay again."""
        if self.link is not None:
            self.link.request_reopen()

    def rider_action(self, action: str) -> None:
        """A rider screen action: a swap for the identified rider, or one of the rider services."""
        log.info("rider chose %s", action)
        self.services.action(action)

    def finish(self) -> None:
        """The rider is done (Done, Cancel, or nobody touched the screen): core forgets them, back to idle."""
        self.services.leave()
        self.dismiss()

    # --- language ---------------------------------------------------------------------------------------

    def toggle_language(self) -> None:
        """The language button."""
        self.set_language(Language(self.lang).other)

    def set_language(self, language: Language) -> None:
        """Show every text in ``language``."""
        self.translator.language = language
        self.lang = language.value
        self._update_station_title()
        self._update_safety()
        self._render_all()

    def _render_all(self) -> None:
        self._update_charged()
        for screen in self.screens.values():
            screen.language = self.lang
            screen.render(self.t)
            screen.tick(self.monotonic(), self.t)
        self.services.push_data()

    # --- time ----------------------------------------------------------------------------------------------

    def _tick(self, _dt: float) -> None:
        now = self.monotonic()
        clock = datetime.now(self._zone).strftime("%H:%M")
        if clock != self.now_text:
            self.now_text = clock
        if self.screens:
            self.screens[self.current.screen].tick(now, self.t)
            self._check_inactivity(now)
        if (
            self.linked
            and self.current.screen is UiScreen.IDLE
            and now - self.services.content_asked >= CONTENT_EVERY_S
        ):
            self.services.ask_content()

    def _check_inactivity(self, now: float) -> None:
        screen = self.current.screen
        waiting = screen in LOCAL_SCREENS or screen in RIDER_SCREENS or screen is UiScreen.IDENTIFY
        if not (self.current.terminal or self.maintenance or waiting):
            return
        local = self.services.local_view()
        since = max(self.last_touch, self.core_shown_at, local[1] if local is not None else 0.0)
        if screen is UiScreen.IDENTIFY and self.current.seconds is not None:
            since += self.current.seconds  # core's own wait for the scan comes first
        if now - since >= self.settings.inactivity_s:
            log.info("nobody touched the screen for %.0f s: back to idle", now - since)
            self.finish()

    # --- helpers ----------------------------------------------------------------------------------------

    def _has_pin(self) -> bool:
        return self.settings.maintenance_pin is not None

    def _update_charged(self) -> None:
        """Idle's and the rider's screen say what core counts as swappable here now (its own bays' state)."""
        charged = charged_count(self.status)
        idle = self.screens.get(UiScreen.IDLE)
        if isinstance(idle, IdleScreen):
            idle.update(charged, self.settings.scanner_position, self._has_pin(), self.t)
        rider = self.screens.get(UiScreen.RIDER)
        if isinstance(rider, RiderScreen):
            rider.set_charged(charged, self.t)

    def _update_safety(self) -> None:
        self.safety = safety_of(self.status, self.safety)
        self.fire = self.safety.fire
        line = out_of_service_line(self.safety)
        self.safety_line = line.render(self.t) if line is not None else ""

    def _update_station_title(self) -> None:
        status = self.status or {}
        if self.lang == Language.EN.value:
            name = str(status.get("station_name_en") or self.settings.station_name_en or self.settings.station_name)
        else:
            name = str(status.get("station_name") or self.settings.station_name or self.settings.station_name_en)
        self.station_title = name

    def _update_cabinet(self, swap: SwapScreen) -> None:
        bays = bay_numbers(self.status)
        swap.set_cabinet(bays, faulted_bays(self.status), cabinet_grid(bays, self.portrait))
