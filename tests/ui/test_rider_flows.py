"""The rider services end to end: the UI follows a REAL kiosk-core (rider desk, goods bays, simulated cabinet).

The rider touches the screen (real touches on the widgets) and scans with the simulator's scanner; the UI
hears of it only through core's API, exactly as in production. Core gets the city's content with
``Station.apply_bundle`` and goods with the rider desk's ``restock``. Every flow runs in both languages.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from kivy.uix.button import Button

from kiosk.core.content import Location
from kiosk.ui.app import KioskApp
from kiosk.ui.client import CoreClient, CoreListener, Post
from kiosk.ui.i18n import Language
from kiosk.ui.settings import from_config
from kiosk.ui.views import UiScreen
from tests.rider_support import SNACK_BAY, WATER_BAY, RiderStation, city_bundle, rider_config
from tests.support import wait_until
from tests.ui.conftest import SETTINGS
from tests.ui.harness import shown_screen, start_app, stop_app, tap, texts
from tests.ui.loop import pump, pump_until, resize, screenshot
from tests.ui.rider_cases import NEARBY

WAIT = 10.0
LANGUAGES = [Language.ZH, Language.EN]
WORDS = {
    "zh_CN": {
        "services": "便民服务",
        "points": "我的积分",
        "feedback": "意见反馈",
        "legal": "法律援助",
        "scan": "请现在扫码",
        "balance": "您有52积分",
        "water": "矿泉水",
        "confirm": "确认",
        "take": "请从9号格口取走物品",
        "requested": "已提交申请，等待城市确认",
        "listed": "法律援助，2030-05-06 17:00：已申请，等待城市确认",
        "topic": "安全",
        "anonymous": "匿名提交",
        "sign": "扫码实名提交",
        "thanks": "谢谢！每条意见城市都会认真阅读。",
        "thanks_points": "谢谢！获得积分：1",
        "back": "返回",
        "no_swap": "本站暂无可换电池。最近有满电电池的驿站：漕溪北路驿站",
        "nearby": "附近驿站",
        "swap": "换电池",
        "open": "号格口已打开",
    },
    "en": {
        "services": "Services",
        "points": "My points",
        "feedback": "Feedback",
        "legal": "Legal aid",
        "scan": "Scan your code now",
        "balance": "You have 52 points",
        "water": "Water",
        "confirm": "Confirm",
        "take": "Take your item from bay 9",
        "requested": "Requested — the city will confirm",
        "listed": "Legal aid, 2030-05-06 17:00: requested, waiting for the city",
        "topic": "Safety",
        "anonymous": "Send anonymously",
        "sign": "Sign with my code",
        "thanks": "Thank you! The city reads every suggestion.",
        "thanks_points": "Thank you! Points earned: 1",
        "back": "Back",
        "no_swap": "No charged battery here now. The nearest station with one: Caoxi North Rd Station",
        "nearby": "Nearby stations",
        "swap": "Swap battery",
        "open": "is open",
    },
}


def settle() -> None:
    """A few frames, so a screenshot shows the new screen alone (the manager drops the old one a frame later)."""
    pump(3)


class Rig:
    """kiosk-core with the city's content and stocked goods bays, and the UI following it in one language."""

    def __init__(self, station: RiderStation, app: KioskApp, language: Language) -> None:
        self.station = station
        self.app = app
        self.words = WORDS[language.value]
        self.language = language

    def shows(self, screen: UiScreen, what: str = "", timeout: float = WAIT) -> Any:
        """Wait (turning Kivy's loop) until the UI shows ``screen`` with ``what`` among its texts."""

        def ready() -> Any:
            shown = shown_screen(self.app)
            if shown.name != screen.value:
                return None
            return shown if not what or any(what in t for t in texts(self.app)) else None

        return pump_until(ready, timeout, f"the UI showing {screen.value} {what!r}".strip())

    def press(self, words: str) -> None:
        """Touch the visible, enabled button of the shown screen whose text contains ``words``."""

        def found() -> Any:
            screen = shown_screen(self.app)
            hits = [w for w in screen.walk() if isinstance(w, Button) and words in w.text and not w.disabled]
            return hits[0] if hits and hits[0].opacity > 0 else None

        tap(pump_until(found, WAIT, f"a button {words!r}"))

    def scan(self, rider_id: str, points: int | None = None) -> None:
        """The rider scans their code (carrying ``points`` as its balance snapshot)."""
        self.station.sim.scan(self.station.code(rider_id, "swap", points))

    def events(self, type_name: str) -> list[dict[str, Any]]:
        """Core's stored events of one type."""
        return self.station.running.tech.events(type_name)

    def idle_again(self) -> None:
        """Back to idle in the UI's language (idle switches back to Chinese by design)."""
        self.shows(UiScreen.IDLE)
        self.app.set_language(self.language)


@pytest.fixture
def rig(window: Any, tmp_path: Path) -> Iterator[Callable[[Language], Rig]]:
    """Start core with goods bays and the test city, then the UI following it."""
    made: list[tuple[RiderStation, KioskApp]] = []

    def make(language: Language) -> Rig:
        station = RiderStation(tmp_path, rider_config(tmp_path))
        station_id = station.station.config.station.id
        station.apply(city_bundle(station_id, nearby=NEARBY[:1], location=Location(latitude=31.188, longitude=121.437)))
        station.restock(WATER_BAY, 3)
        station.restock(SNACK_BAY, 0)
        ui = from_config(station.station.config, env={})
        settings = replace(SETTINGS, api_url=station.url, token_file=ui.token_file)

        def link(listener: CoreListener, post: Post) -> CoreClient:
            # A status a second: the cabinet's state (a battery charging) reaches the screen without waiting.
            return CoreClient(
                settings.api_url, settings.token_file, listener, post, backoff_cap_s=0.5, status_every_s=1.0
            )

        app = start_app(window, settings, link)
        made.append((station, app))
        resize(window, (800, 480))
        rig = Rig(station, app, language)
        rig.shows(UiScreen.IDLE, "漕溪北路驿站")
        app.set_language(language)
        return rig

    yield make
    for station, app in made:
        try:
            stop_app(window, app)
            station.running.close()
        finally:
            station.sim.end()


@pytest.mark.parametrize("language", LANGUAGES, ids=["zh", "en"])
def test_a_rider_scans_for_their_points_and_takes_water_from_its_bay(
    rig: Callable[[Language], Rig], language: Language
) -> None:
    r = rig(language)
    r.press(r.words["points"])
    r.shows(UiScreen.IDENTIFY, r.words["scan"])
    r.scan("R-ui-points", points=50)
    r.shows(UiScreen.POINTS, r.words["balance"])  # the code's 50 and the day's check-in
    settle()
    screenshot(r.app.root, f"flow-points-1-balance-{language.value}")
    r.press(r.words["water"])
    r.press(r.words["confirm"])
    r.shows(UiScreen.SWAP, r.words["take"])
    assert shown_screen(r.app).bay_text == str(WATER_BAY)
    settle()
    screenshot(r.app.root, f"flow-points-2-take-{language.value}")
    wait_until(lambda: r.events("points.spent"), WAIT, "the spend recorded")
    assert r.events("points.spent")[0]["payload"]["item_id"] == "water"


@pytest.mark.parametrize("language", LANGUAGES, ids=["zh", "en"])
def test_a_rider_reads_a_service_scans_its_qr_and_books_a_time(
    rig: Callable[[Language], Rig], language: Language
) -> None:
    r = rig(language)
    r.press(r.words["services"])
    r.press(r.words["legal"])
    r.press(r.words["legal"])  # the category, then the service of the same name
    screen = r.shows(UiScreen.SERVICES)
    pump_until(lambda: screen.ids.qr.texture is not None and screen.ids.qr.opacity == 1, WAIT, "the QR code")
    settle()
    screenshot(r.app.root, f"flow-services-1-details-{language.value}")
    wait_until(lambda: r.events("service.viewed"), WAIT, "the view recorded")
    assert r.events("service.viewed")[0]["payload"]["language"] == ("en" if language is Language.EN else "zh")
    tap(screen.ids.choices.buttons()[0])  # the one open slot
    r.press(r.words["confirm"])
    r.shows(UiScreen.IDENTIFY, r.words["scan"])
    r.scan("R-ui-booking")
    r.shows(UiScreen.SERVICES, r.words["requested"])
    r.shows(UiScreen.SERVICES, r.words["listed"])  # the rider's bookings, as core lists them now
    settle()
    screenshot(r.app.root, f"flow-services-2-booked-{language.value}")
    wait_until(lambda: r.events("booking.requested"), WAIT, "the booking recorded")
    assert r.events("booking.requested")[0]["payload"]["slot_id"] == "slot-1"


@pytest.mark.parametrize("language", LANGUAGES, ids=["zh", "en"])
def test_a_rider_gives_feedback_anonymously_and_then_signed(rig: Callable[[Language], Rig], language: Language) -> None:
    r = rig(language)
    r.press(r.words["feedback"])
    r.press("★★★★★")
    r.press(r.words["topic"])
    r.press(r.words["anonymous"])
    r.shows(UiScreen.FEEDBACK, r.words["thanks"])
    wait_until(lambda: r.events("feedback.given"), WAIT, "the feedback recorded")
    assert r.events("feedback.given")[0]["payload"]["rider_id"] is None
    tap(shown_screen(r.app).ids.back)  # done
    r.idle_again()
    r.press(r.words["feedback"])
    r.press("★★★")
    r.press(r.words["topic"])
    r.press(r.words["sign"])
    r.shows(UiScreen.IDENTIFY, r.words["scan"])
    r.scan("R-ui-feedback", points=10)
    r.shows(UiScreen.FEEDBACK, r.words["thanks_points"])
    settle()
    screenshot(r.app.root, f"flow-feedback-signed-{language.value}")
    wait_until(lambda: len(r.events("feedback.given")) == 2, WAIT, "the signed feedback recorded")
    assert r.events("feedback.given")[1]["payload"]["rider_id"] == "R-ui-feedback"


def swappable(station: RiderStation) -> int:
    """What core counts as swappable here now."""
    return int(station.running.tech.status()["components"]["station"]["charged_batteries"])


@pytest.mark.parametrize("language", LANGUAGES, ids=["zh", "en"])
def test_with_no_charged_battery_the_rider_is_offered_no_swap_until_one_has_charged(
    rig: Callable[[Language], Rig], language: Language
) -> None:
    r = rig(language)
    tech = r.station.running.tech
    charged = [b["bay"] for b in tech.world()["bays"] if b.get("battery") and b["battery"]["soc_pct"] >= 95.0]
    assert charged
    for bay in charged:  # charged, but too hot to hand out
        assert tech.sim("/faults", fault="battery_hot", bay=bay).status_code == 200
    wait_until(lambda: swappable(r.station) == 0, WAIT, "no battery swappable")
    r.press(r.words["points"])
    r.shows(UiScreen.IDENTIFY, r.words["scan"])
    r.scan("R-ui-nobattery", points=50)
    r.shows(UiScreen.POINTS, r.words["balance"])
    r.press(r.words["back"])
    rider = r.shows(UiScreen.RIDER, r.words["no_swap"])
    assert (rider.ids.action0.text, rider.ids.action0.tone) == (r.words["nearby"], "warn")
    live = [w.text for w in rider.walk() if isinstance(w, Button) and not w.disabled and w.opacity > 0]
    assert r.words["swap"] not in live
    settle()
    screenshot(r.app.root, f"flow-no-charged-battery-{language.value}")
    r.station.sim.tick(3600.0)  # an hour on the chargers: the cool batteries fill up
    wait_until(lambda: swappable(r.station) > 0, WAIT, "a battery charged")
    pump_until(lambda: rider.ids.action0.text == r.words["swap"], WAIT, "the swap offered again")
    assert not any(r.words["no_swap"] in t for t in texts(r.app))
    r.press(r.words["swap"])
    r.shows(UiScreen.SWAP, r.words["open"])
    assert r.station.running.tech.swap() is not None
