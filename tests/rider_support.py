"""Helpers of the rider desk tests: a station with goods bays and a city bundle, a fake hub answering live spends."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import requests

from kiosk.core.clock import SystemClock
from kiosk.core.config import Config
from kiosk.core.content import BookingSlot, CatalogueItem, PointsRule, Service
from kiosk.core.hardware import BayConfig
from kiosk.core.secrets import ensure_secret_file
from kiosk.sim.codes import SimCodeIssuer
from kiosk.sync.protocol import BookingStatus, Bundle, RiderBalance, SpendAnswer, SpendRequest
from tests.support import LastingSimCabinet, RunningStation, sim_config, wait_until

WATER_BAY = 9
SNACK_BAY = 10
WAIT = 10.0
SLOT_START = datetime(2030, 5, 6, 9, 0, tzinfo=UTC)

CATALOGUE = [
    CatalogueItem(id="water", name_zh="矿泉水", name_en="Water", points=5),
    CatalogueItem(id="snack", name_zh="零食", name_en="Snack", points=12),
    CatalogueItem(id="cable", name_zh="充电线", name_en="Charging cable", points=3, kind="loan"),
]
RULES = [PointsRule(id="checkin", points=2), PointsRule(id="feedback", points=1)]
SERVICES = [
    Service(
        id="legal-aid",
        category="legal_aid",
        title_zh="法律援助",
        title_en="Legal aid",
        url="https://x.example/l",
        bookable=True,
        slots=[BookingSlot(id="slot-1", starts=SLOT_START, ends=SLOT_START + timedelta(minutes=30))],
    ),
    Service(id="jobs", category="jobs", title_zh="招聘信息", title_en="Job listings"),
]


def rider_config(tmp_path: Path, *, policy: dict[str, Any] | None = None, sync: dict[str, Any] | None = None) -> Config:
    """The sim config with battery bays 1-8 and two goods bays (9: water, 10: snack)."""
    config = sim_config(tmp_path, policy={"min_minutes_between_swaps": 0, **(policy or {})})
    batteries = [b for b in config.hardware.bays if b.goods is None and b.number <= 8]
    goods = [
        BayConfig(number=WATER_BAY, lock=8, goods="water"),
        BayConfig(number=SNACK_BAY, lock=9, goods="snack"),
    ]
    hardware = config.hardware.model_copy(update={"bays": batteries + goods})
    update: dict[str, Any] = {"hardware": hardware}
    if sync is not None:
        update["sync"] = config.sync.model_validate({**config.sync.model_dump(), **sync})
    return config.model_copy(update=update)


def city_bundle(station_id: str, **fields: Any) -> Bundle:
    """A bundle with the test city's catalogue, rules and services (fields override)."""
    values: dict[str, Any] = {
        "station_id": station_id,
        "generated_at": datetime.now(UTC),
        "catalogue": CATALOGUE,
        "points_rules": RULES,
        "services": SERVICES,
    }
    values.update(fields)
    return Bundle(**values)


def balance(rider_id: str, points: int, station_seq: int = 0, **fields: Any) -> RiderBalance:
    """The hub's balance of a rider, current now (unless ``as_of`` is given)."""
    values: dict[str, Any] = {"as_of": datetime.now(UTC), **fields}
    return RiderBalance(rider_id=rider_id, balance=points, station_seq=station_seq, **values)


def booking_status(booking_id: str, rider_id: str, status: str, note: str = "") -> BookingStatus:
    """The hub's answer to a booking made at the station."""
    return BookingStatus(
        booking_id=booking_id, rider_id=rider_id, service_id="legal-aid", slot_id="slot-1", status=status, note=note
    )


class RiderStation:
    """A running station with goods bays, driven as the touchscreen and a rider would."""

    def __init__(self, tmp_path: Path, config: Config, *, name: str = "a") -> None:
        self.tmp_path = tmp_path
        self.sim = LastingSimCabinet("kerong", config.hardware, tmp_path / f"devices-{name}", seed=1)
        self.codes_dir = tmp_path / f"codes-{name}"
        self.running = RunningStation(config, self.sim, self.codes_dir)
        wait_until(lambda: self.running.tech.bay(1)["battery"] is not None, WAIT, "bay 1's battery read")

    @property
    def station(self) -> Any:
        """The running ``Station``."""
        return self.running.station

    @property
    def url(self) -> str:
        """The local API."""
        return str(self.station.api.url)

    @property
    def http(self) -> requests.Session:
        """An HTTP session with the UI token."""
        return self.running.tech.session

    def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run ``fn`` on the station's loop."""
        return self.running.loop.call(fn, *args)

    def apply(self, bundle: Bundle) -> None:
        """Put a city bundle into effect."""
        self.call(self.station.apply_bundle, bundle)

    def restock(self, bay: int, count: int) -> None:
        """Staff fill a goods bay."""
        self.call(self.station.rider.restock, bay, count, None)

    def get(self, path: str) -> requests.Response:
        """GET on the local API."""
        return self.http.get(f"{self.url}{path}", timeout=10)

    def post(self, path: str, body: Any = None) -> requests.Response:
        """POST JSON on the local API."""
        return self.http.post(f"{self.url}{path}", json=body, timeout=10)

    def code(self, rider_id: str, scope: str = "swap", points: int | None = None) -> str:
        """A code signed with the simulator's key, carrying ``points`` as its snapshot."""
        issuer = SimCodeIssuer(self.codes_dir, SystemClock(), {} if points is None else {rider_id: points})
        return issuer.issue(rider_id, scope)

    def identify(self, rider_id: str, scope: str = "swap", points: int | None = None, purpose: str = "points") -> None:
        """The screen asks who the rider is, the rider scans, the station knows them."""
        assert self.post("/api/rider/identify", {"purpose": purpose}).status_code == 202
        self.sim.scan(self.code(rider_id, scope, points))
        wait_until(lambda: self.get("/api/rider").status_code == 200, WAIT, f"rider {rider_id} identified")

    def rider(self) -> dict[str, Any]:
        """``GET /api/rider`` (must be 200)."""
        answer = self.get("/api/rider")
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    def events(self, type_name: str) -> list[dict[str, Any]]:
        """Recorded events of one type."""
        return self.running.tech.events(type_name)

    def close(self) -> None:
        """Stop the station and the simulated cabinet."""
        try:
            self.running.close()
        finally:
            self.sim.end()


def start_rider_station(tmp_path: Path, config: Config, name: str = "a") -> Iterator[RiderStation]:
    """A fixture body: the station, closed afterwards."""
    station = RiderStation(tmp_path, config, name=name)
    try:
        yield station
    finally:
        station.close()


SpendRule = Callable[[SpendRequest], SpendAnswer | None]
"""How the fake hub answers a spend (None: it never answers in time)."""


class FakeHub:
    """A hub on loopback that answers only live spends (everything else: 404); records what it was asked."""

    def __init__(self, rule: SpendRule) -> None:
        self.rule = rule
        self.spends: list[SpendRequest] = []
        self.release = threading.Event()
        """Set to let a spend the rule left unanswered end (the station must have given up before)."""
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                if not self.path.endswith("/points/spend"):
                    self._answer(404, {"error": "not here"})
                    return
                request = SpendRequest.model_validate_json(body)
                hub.spends.append(request)
                answer = hub.rule(request)
                if answer is None:
                    hub.release.wait(30)
                    self._answer(503, {"error": "too late"})
                    return
                self._answer(200, json.loads(answer.model_dump_json()))

            def do_GET(self) -> None:
                self._answer(404, {"error": "not here"})

            def _answer(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        """Where it listens."""
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def close(self) -> None:
        """Stop serving."""
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def hub_sync(hub: FakeHub, tmp_path: Path) -> dict[str, Any]:
    """A ``[sync]`` section pointing at ``hub`` (slow rounds: these tests are about live spends)."""
    token = tmp_path / "hub-token"
    ensure_secret_file(token)
    return {"enabled": True, "hub_url": hub.url, "token_file": token, "interval_s": 3600, "backoff_cap_s": 3600}
