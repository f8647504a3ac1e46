"""``POST /api/swap/reopen``: the touchscreen's one command to core."""

from __future__ import annotations

from fastapi.testclient import TestClient

from kiosk.api.app import ApiContext, create_app
from kiosk.api.stream import EventBus

TOKEN = "t" * 32


def client(request_reopen: object = None) -> TestClient:
    """The API around a context with no station behind it."""
    ctx = ApiContext(
        station_id="sim-001",
        version="0",
        token=TOKEN,
        bus=EventBus(),
        status=dict,
        events_since=lambda since, limit: [],
        request_reopen=request_reopen,  # type: ignore[arg-type]
    )
    return TestClient(create_app(ctx))


def test_a_reopen_request_reaches_the_station() -> None:
    asked: list[bool] = []
    answer = client(lambda: asked.append(True)).post("/api/swap/reopen", headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 202
    assert asked == [True]


def test_a_reopen_request_needs_the_ui_token() -> None:
    asked: list[bool] = []
    answer = client(lambda: asked.append(True)).post("/api/swap/reopen")
    assert answer.status_code == 401
    assert asked == []


def test_a_station_without_reopen_says_so() -> None:
    answer = client().post("/api/swap/reopen", headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 404
