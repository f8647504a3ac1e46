"""A real station with a simulated cabinet, staff accounts and the status page wired, for the web tests.

The cabinet is the simulator's eight battery bays and two goods bays (9: water, 10: snack), empty at start.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from argon2 import PasswordHasher

from kiosk.api.users import UserStore
from kiosk.app.station import Station
from kiosk.core.clock import SystemClock
from kiosk.core.guessing import GuessPolicy, GuessThrottle
from kiosk.core.hardware import BayConfig
from kiosk.devices.sim.cabinet import SimCabinet
from kiosk.sim.codes import SimCodeIssuer
from kiosk.sync.serving import ConnectionLimits
from tests.support import LoopThread, Technician, sim_config, wait_until

FAST_HASH = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
"""Argon2id with tiny costs: the tests check behaviour, not the hash's strength."""
STAFF = "alice"
PASSWORD = "correct horse battery"  # noqa: S105 - a test account's password
METRICS_KEY = "metrics-key-for-the-fleet-monitor-0123456789"
WAIT = 10.0
GOODS = {9: "water", 10: "snack"}
"""The goods bays of the test station (after its battery bays 1-8)."""


class WebStation:
    """kiosk-core on a loop thread with a simulated Kerong cabinet and one staff account."""

    def __init__(self, tmp_path: Path, policy_extra: dict[str, Any] | None = None) -> None:
        policy = {"min_minutes_between_swaps": 0, "insert_timeout_s": 60.0, "collect_timeout_s": 60.0}
        policy.update(policy_extra or {})
        base = sim_config(tmp_path, policy=policy)
        battery_bays = [bay for bay in base.hardware.bays if bay.goods is None]
        goods = [BayConfig(number=n, lock=n - 1, goods=item) for n, item in GOODS.items()]
        self.config = sim_config(tmp_path, policy=policy, hardware={"bays": battery_bays + goods})
        self.sim = SimCabinet("kerong", self.config.hardware, tmp_path / "devices", seed=1)
        self.users = UserStore(tmp_path / "etc" / "users.json", hasher=FAST_HASH)
        self.users.add(STAFF, PASSWORD)
        self.restarts: list[str] = []
        self.loop = LoopThread()
        self.station: Station = self.loop.run(self._build(tmp_path / "codes"))
        self.loop.run(self.station.start())
        self.url = self.station.api.url
        self.tech = Technician(self.station)
        wait_until(self._all_read, WAIT, "every bay's battery read")

    async def _build(self, codes: Path) -> Station:
        clock = SystemClock()
        station = Station(self.config, clock, sim=self.sim, sim_codes=SimCodeIssuer(codes, clock))
        ctx = station.api.ctx
        # What the composition root wires (kept here until kiosk.app.station does it; then only the
        # accounts, the metrics key and the fake restart differ from production).
        ctx.users = self.users
        ctx.metrics_key = METRICS_KEY
        ctx.limiter = GuessThrottle(GuessPolicy(base_delay_s=60.0), monotonic=clock.monotonic)
        ctx.record = ctx.record or station.store.append
        ctx.unlock_bay = ctx.unlock_bay or station.cabinet.unlock
        ctx.reset_fault = ctx.reset_fault or station.cabinet.reset_fault
        ctx.set_out_of_service = ctx.set_out_of_service or station.controller.set_out_of_service
        ctx.swap_outcomes = ctx.swap_outcomes or station.controller.swap_outcomes
        ctx.data_dir = ctx.data_dir or self.config.station.data_dir
        ctx.monotonic = clock.monotonic

        async def restart_ui() -> None:
            self.restarts.append("kiosk-ui")

        ctx.restart_ui = restart_ui
        # Short deadlines, so the slow-client tests (tests/web/test_http_limits.py) end in seconds.
        station.api.limits = ConnectionLimits(head_timeout_s=1.0)
        station.api.body_idle_timeout_s = 1.0
        return station

    def _all_read(self) -> bool:
        return self.tech.batteries_read()

    def staff_actions(self) -> list[dict[str, Any]]:
        """The ``staff.action`` events' payloads, oldest first."""
        return [e["payload"] for e in self.tech.events("staff.action")]

    def close(self) -> None:
        """Stop kiosk-core (which closes the simulated cabinet) and the loop."""
        try:
            self.loop.run(self.station.stop("test over"))
        finally:
            self.loop.close()


@pytest.fixture
def web(tmp_path: Path) -> Iterator[WebStation]:
    """A running station with the status page and the staff account ``alice``."""
    station = WebStation(tmp_path)
    yield station
    station.close()


def form_value(html: str, name: str) -> str:
    """The value of the first hidden input ``name`` in a page."""
    match = re.search(rf'name="{name}" value="([^"]+)"', html)
    assert match is not None, f"no {name} field in the page"
    return match.group(1)


def sign_in(url: str, name: str = STAFF, password: str = PASSWORD) -> tuple[requests.Session, requests.Response]:
    """A browser-like session that opened the sign-in page and submitted it; the answer."""
    session = requests.Session()
    form = session.get(f"{url}/login", timeout=5)
    token = form_value(form.text, "login_csrf")
    answer = session.post(
        f"{url}/login", data={"login_csrf": token, "username": name, "password": password}, timeout=10
    )
    return session, answer


def csrf_of(session: requests.Session, url: str) -> str:
    """The session's CSRF token, as the overview page carries it."""
    return form_value(session.get(f"{url}/", timeout=5).text, "csrf")
