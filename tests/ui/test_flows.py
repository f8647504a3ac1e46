"""The UI driven by a real kiosk-core with the simulated cabinet: scans move it, no touch, no private hooks.

The rider acts only through the simulator's controls (``/api/sim``); the UI hears of it only through
core's API (its screen and event streams), exactly as in production. kiosk-core runs on a loop thread
(``tests.support.RunningStation``); the UI runs on this, the main, thread (see conftest).
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from kiosk.ui.app import KioskApp
from kiosk.ui.client import CoreClient, CoreListener, Post
from kiosk.ui.i18n import Language
from kiosk.ui.settings import from_config
from kiosk.ui.views import SwapStep, UiScreen
from tests.support import LastingSimCabinet, RunningStation, Technician, sim_config, wait_until
from tests.ui.conftest import SETTINGS
from tests.ui.harness import shown_screen, start_app, stop_app, texts
from tests.ui.loop import pump_until, resize, screenshot

WAIT = 10.0
RETURNED = "SH7654321"


def free_port() -> int:
    """A loopback port nobody listens on (core gets the same one back after a restart)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Rig:
    """kiosk-core with a simulated cabinet, and the UI following it."""

    def __init__(self, run: RunningStation, app: KioskApp) -> None:
        self.run = run
        self.app = app

    @property
    def tech(self) -> Technician:
        """The rider's hands and the technician's eyes on core (``/api/sim``, ``/api/status``)."""
        return self.run.tech

    def shows(self, screen: UiScreen, what: str = "", timeout: float = WAIT) -> Any:
        """Wait (turning Kivy's loop) until the UI shows ``screen`` with ``what`` among its texts."""

        def ready() -> Any:
            shown = shown_screen(self.app)
            if shown.name != screen.value:
                return None
            return shown if not what or any(what in t for t in texts(self.app)) else None

        return pump_until(ready, timeout, f"the UI showing {screen.value} {what!r}".strip())

    def batteries_read(self) -> None:
        """Wait until core has read every bay's battery (before that it refuses swaps for lack of data)."""

        wait_until(self.tech.batteries_read, WAIT, "every bay read")

    def swap_state(self, state: str) -> None:
        """Wait for core's swap in flight to reach ``state``."""
        wait_until(lambda: (s := self.tech.swap()) and s["state"] == state, WAIT, f"swap state {state}")


@pytest.fixture
def rig(window: Any, tmp_path: Path) -> Iterator[Callable[..., Rig]]:
    """Start core (policy overrides as keywords) on a Kerong simulated cabinet, then the UI following it."""
    made: list[tuple[RunningStation, LastingSimCabinet, KioskApp]] = []

    def make(**policy: Any) -> Rig:
        base = {"min_minutes_between_swaps": 0, "insert_timeout_s": 60.0, "collect_timeout_s": 60.0}
        config = sim_config(tmp_path, policy={**base, **policy})
        config = config.model_copy(update={"api": config.api.model_copy(update={"port": free_port()})})
        sim = LastingSimCabinet("kerong", config.hardware, tmp_path / "devices", seed=1)
        run = RunningStation(config, sim, tmp_path / "codes")
        ui = from_config(config, env={})
        settings = replace(SETTINGS, api_url=ui.api_url, token_file=ui.token_file)

        def link(listener: CoreListener, post: Post) -> CoreClient:
            return CoreClient(settings.api_url, settings.token_file, listener, post, backoff_cap_s=0.5)

        app = start_app(window, settings, link)
        made.append((run, sim, app))
        resize(window, (800, 480))
        made_rig = Rig(run, app)
        made_rig.batteries_read()
        return made_rig

    yield make
    for run, sim, app in made:
        try:
            stop_app(window, app)
            run.close()
        finally:
            sim.end()


def test_a_scan_walks_the_ui_through_a_whole_swap_without_a_touch(rig: Callable[..., Rig]) -> None:
    r = rig()
    r.shows(UiScreen.IDLE, "请扫码")
    r.tech.code("R-ui-swap")
    screen = r.shows(UiScreen.SWAP, "号格口已打开")
    bay = int(r.tech.screen()["params"]["bay"])
    assert screen.bay_text == str(bay)
    assert screen.step == SwapStep.RETURN
    assert screen.ids.cabinet.highlight == bay
    screenshot(r.app.root, "flow-swap-1-return")
    r.swap_state("await_return")
    r.tech.sim(f"/bays/{bay}/insert", battery_id=RETURNED, soc_pct=12.0)
    r.tech.sim(f"/bays/{bay}/close-door")
    screen = r.shows(UiScreen.SWAP, "号格口取出满电电池")
    charged = int(r.tech.screen()["params"]["bay"])
    assert (screen.step, screen.bay_text) == (SwapStep.COLLECT, str(charged))
    screenshot(r.app.root, "flow-swap-2-collect")
    r.swap_state("await_collect")
    r.tech.sim(f"/bays/{charged}/take")
    r.tech.sim(f"/bays/{charged}/close-door")
    screen = r.shows(UiScreen.SWAP, "换电完成")
    assert screen.step == SwapStep.DONE
    screenshot(r.app.root, "flow-swap-3-done")


def test_an_abandoned_swap_ends_on_a_plain_cancelled_message(rig: Callable[..., Rig]) -> None:
    r = rig(insert_timeout_s=1.5)
    r.tech.code("R-ui-abandon")
    r.shows(UiScreen.SWAP, "号格口已打开")
    bay = int(r.tech.screen()["params"]["bay"])
    r.swap_state("await_return")
    r.tech.sim(f"/bays/{bay}/close-door")  # shut empty: the rider walked away
    screen = r.shows(UiScreen.SWAP, "换电已取消")
    assert screen.tone == "warn"
    r.app.set_language(Language.EN)
    r.shows(UiScreen.SWAP, "Swap cancelled")


def test_a_refused_code_shows_why_and_what_to_do(rig: Callable[..., Rig]) -> None:
    r = rig()
    r.tech.sim("/scan", text="HELLO-THIS-IS-NOT-A-CODE")
    screen = r.shows(UiScreen.REFUSAL, "这不是驿站码")
    assert "请打开骑手App中的驿站码，再扫一次。" in texts(r.app)
    assert screen.tone == "bad"


def test_core_going_away_shows_out_of_service_and_the_ui_comes_back_by_itself(rig: Callable[..., Rig]) -> None:
    r = rig()
    r.shows(UiScreen.IDLE)
    r.run.stop()
    r.shows(UiScreen.OUT_OF_SERVICE, "暂停服务")
    assert r.app.linked is False
    screenshot(r.app.root, "flow-core-away")
    r.run.start()
    r.shows(UiScreen.IDLE, "请扫码", timeout=15)
    r.batteries_read()
    r.tech.code("R-ui-back")
    r.shows(UiScreen.SWAP, "号格口已打开")
