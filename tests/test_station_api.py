"""kiosk-core end to end on loopback: the real uvicorn server, real HTTP, the real store."""

from __future__ import annotations

import json
import re
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
import requests
from argon2 import PasswordHasher

from kiosk.api.users import UserStore
from kiosk.app.station import Station
from kiosk.core.clock import SystemClock
from kiosk.core.config import Config, parse_config
from kiosk.core.errors import ComponentError
from kiosk.core.events import ComponentFailed
from tests.support import LoopThread

T = TypeVar("T")

CONFIG = """
[station]
id = "t-001"
name = "测试驿站"
name_en = "Test Station"
data_dir = "{data}"

[api]
host = "127.0.0.1"
port = {port}
ui_token_file = "{data}/ui-token"
"""


def make_config(data: Path, port: int = 0) -> Config:
    return parse_config(CONFIG.format(data=data, port=port))


@pytest.fixture
def loop_thread() -> Iterator[LoopThread]:
    lt = LoopThread()
    yield lt
    lt.close()


@pytest.fixture
def station(tmp_path: Path, loop_thread: LoopThread) -> Iterator[Station]:
    st = loop_thread.call(Station, make_config(tmp_path / "data"), SystemClock())
    loop_thread.run(st.start())
    yield st
    loop_thread.run(st.stop("test over"))


def token_of(st: Station) -> str:
    return st.config.api.ui_token_file.read_text().strip()


def auth(st: Station) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_of(st)}"}


def test_health_is_served_without_credentials(station: Station) -> None:
    answer = requests.get(f"{station.api.url}/api/health", timeout=5)
    assert answer.status_code == 200
    assert answer.json() == {"ok": True, "station_id": "t-001", "version": answer.json()["version"]}


@pytest.mark.parametrize("path", ["/api/status", "/api/events", "/api/events/stream"])
def test_everything_else_needs_the_token(station: Station, path: str) -> None:
    bare = requests.get(f"{station.api.url}{path}", timeout=5)
    wrong = requests.get(f"{station.api.url}{path}", headers={"Authorization": "Bearer nope"}, timeout=5)
    assert bare.status_code == 401
    assert wrong.status_code == 401
    assert "Bearer" in bare.json()["error"]


def test_status_has_every_component_the_store_figures_and_the_version(station: Station) -> None:
    status = requests.get(f"{station.api.url}/api/status", headers=auth(station), timeout=5).json()
    assert set(status["components"]) == {
        "store",
        "time",
        "cabinet",
        "safety",
        "battery_report",
        "station",
        "rider",
        "sync",
        "api",
    }
    assert all(c["state"] == "running" for c in status["components"].values())
    assert status["store"]["events_total"] >= 1  # station.started
    assert status["store"]["unsynced_count"] >= 1
    assert status["sync"]["backlog"] == status["store"]["unsynced_count"]
    assert status["sync"]["enabled"] is False
    assert status["station_name"] == "测试驿站"
    assert status["uptime_s"] >= 0
    # No key set configured: the station runs, and says plainly that codes cannot be checked yet. (The trusted
    # time's warning depends on whether this machine's clock is NTP-synchronised.)
    assert [w for w in status["warnings"] if not w.startswith("time: ")] == [
        "station: no key set at /etc/kiosk/keyset.json: riders' codes cannot be checked until the hub sends one"
    ]


def test_the_ui_token_file_is_created_private(station: Station) -> None:
    mode = station.config.api.ui_token_file.stat().st_mode
    assert stat.S_IMODE(mode) == 0o600
    assert len(token_of(station)) >= 32


def test_security_headers_are_sent(station: Station) -> None:
    answer = requests.get(f"{station.api.url}/api/health", timeout=5)
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answer.headers["X-Frame-Options"] == "DENY"
    assert "default-src 'self'" in answer.headers["Content-Security-Policy"]


def test_the_status_page_asks_to_sign_in_and_then_shows_the_station(station: Station, tmp_path: Path) -> None:
    users = UserStore(tmp_path / "users.json", hasher=PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    users.add("alice", "correct horse battery")
    station.api.ctx.users = users
    session = requests.Session()
    first = session.get(f"{station.api.url}/", timeout=5)
    assert first.url.endswith("/login")
    login_csrf = re.search(r'name="login_csrf" value="([^"]+)"', first.text)
    assert login_csrf is not None
    form = {"login_csrf": login_csrf.group(1), "username": "alice"}
    refused = session.post(f"{station.api.url}/login", data={**form, "password": token_of(station)}, timeout=5)
    assert refused.status_code == 401
    assert "not right" in refused.text
    retry = re.search(r'name="login_csrf" value="([^"]+)"', refused.text)  # each form has its own token
    assert retry is not None
    form["login_csrf"] = retry.group(1)
    signed = session.post(f"{station.api.url}/login", data={**form, "password": "correct horse battery"}, timeout=5)
    assert signed.status_code == 200
    assert "测试驿站" in signed.text
    cookie = signed.history[0].headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie or "SameSite=Strict" in cookie
    assert session.get(f"{station.api.url}/api/status", timeout=5).status_code == 200


def sse_lines(response: requests.Response) -> Iterator[str]:
    """The stream's lines; one iterator per response, since iter_lines buffers ahead."""
    return response.iter_lines(chunk_size=1, decode_unicode=True)


def read_sse(lines: Iterator[str], count: int) -> list[dict[str, Any]]:
    """Read ``count`` events from an SSE line iterator (the response's read timeout bounds the wait)."""
    events: list[dict[str, Any]] = []
    current: dict[str, Any] = {}
    for raw in lines:
        if raw == "":
            if "data" in current:
                events.append(current)
                if len(events) == count:
                    return events
            current = {}
        elif raw.startswith(":"):
            continue
        else:
            field, _, value = raw.partition(": ")
            current[field] = value
    raise AssertionError(f"stream ended after {len(events)} of {count} events")


def test_the_stream_replays_stored_events_then_follows_live_ones(station: Station, loop_thread: LoopThread) -> None:
    url = f"{station.api.url}/api/events/stream?since=0"
    with requests.get(url, headers=auth(station), stream=True, timeout=(5, 10)) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = sse_lines(response)
        (started,) = read_sse(lines, 1)
        assert started["event"] == "station.started"
        assert started["id"] == "1"
        loop_thread.call(station.store.append, ComponentFailed(component="scanner", error="unplugged", optional=True))
        (live,) = read_sse(lines, 1)
    assert live["event"] == "component.failed"
    assert live["id"] == "2"
    assert json.loads(live["data"])["payload"] == {"component": "scanner", "error": "unplugged", "optional": True}


def test_a_reconnecting_client_gets_what_it_missed_once(station: Station, loop_thread: LoopThread) -> None:
    for n in range(3):
        loop_thread.call(station.store.append, ComponentFailed(component=f"c{n}", error="x", optional=True))
    headers = {**auth(station), "Last-Event-ID": "2"}
    with requests.get(f"{station.api.url}/api/events/stream", headers=headers, stream=True, timeout=(5, 10)) as resp:
        events = read_sse(sse_lines(resp), 2)
    assert [e["id"] for e in events] == ["3", "4"]


def test_recent_events_as_json(station: Station) -> None:
    answer = requests.get(f"{station.api.url}/api/events?since=0&limit=10", headers=auth(station), timeout=5)
    assert [e["type"] for e in answer.json()] == ["station.started"]


def test_a_port_in_use_is_a_clear_start_failure(station: Station, tmp_path: Path, loop_thread: LoopThread) -> None:
    second = loop_thread.call(Station, make_config(tmp_path / "other", port=station.api.port), SystemClock())
    with pytest.raises(ComponentError, match=r"api failed to start: cannot listen on 127\.0\.0\.1:\d+"):
        loop_thread.run(second.start())
    assert second.runtime.get_status()["components"]["store"]["state"] == "closed"
