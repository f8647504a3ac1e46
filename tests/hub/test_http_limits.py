"""Attacks on the hub's HTTP server on loopback: guessing operator passwords, huge bodies, slow clients.

Sign-in limits and body limits touch storage (sessions, tokens), so they run on SQLite and PostgreSQL.
Another client is told apart by ``X-Forwarded-For``, which the hub takes only from a proxy on loopback
(where these tests connect from), as it does from the city's TLS proxy.
"""

from __future__ import annotations

import gzip
import logging
import statistics
import time
from collections.abc import Iterator

import pytest
import requests

from hub.server import HubServer
from hub.storage import Storage
from kiosk.core.http_limits import DEFAULT_MAX_BYTES
from kiosk.sync.protocol import MAX_BODY_BYTES
from kiosk.sync.serving import ConnectionLimits
from tests.http_attacks import connect, head, read_answer, rss_bytes, seconds_until_closed, stream_chunked
from tests.hub.admin_support import OPERATOR, PASSWORD, login, sign_in
from tests.hub.support import batch_body, post_events, records

MIB = 1024 * 1024
GUESSER = "198.51.100.7"
OFFICE = "203.0.113.20"


@pytest.fixture
def operator(storage: Storage) -> str:
    storage.set_operator(OPERATOR, PASSWORD)
    return OPERATOR


@pytest.fixture
def token(storage: Storage) -> str:
    return storage.add_station("st-a", name="甲站", name_en="Station A")


# --- guessing operator passwords ----------------------------------------------------------------------------


def test_forty_fast_guesses_are_slowed_and_then_locked_out(hub: HubServer, operator: str) -> None:
    answers = [sign_in(hub.url, operator, f"guess {n:04d}", client=GUESSER)[1] for n in range(40)]
    codes = [a.status_code for a in answers]
    assert codes[:3] == [401, 401, 401]
    assert codes.count(429) >= 35
    assert all(int(a.headers["retry-after"]) >= 1 for a in answers if a.status_code == 429)
    # The right password from the guessing client waits too: guessing on cannot tell it was right.
    assert sign_in(hub.url, operator, PASSWORD, client=GUESSER)[1].status_code == 429


def test_the_operator_still_signs_in_from_elsewhere(hub: HubServer, operator: str) -> None:
    for n in range(12):
        sign_in(hub.url, operator, f"guess {n:04d}", client=GUESSER)
    session, answer = sign_in(hub.url, operator, PASSWORD, client=OFFICE)
    assert answer.status_code == 303
    assert session.get(f"{hub.url}/admin", timeout=30).status_code == 200


def test_guessing_is_logged_as_an_alarm(hub: HubServer, operator: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="hub.operators")
    for client in ("198.51.100.1", "198.51.100.2"):
        for n in range(3):
            sign_in(hub.url, operator, f"guess {n:04d}", client=client)
    alarms = [r.getMessage() for r in caplog.records if "password guessing" in r.getMessage()]
    assert len(alarms) == 1
    assert OPERATOR in alarms[0]


def test_spraying_names_from_one_client_is_slowed(hub: HubServer, operator: str) -> None:
    for n in range(10):
        sign_in(hub.url, f"name{n}", "password guess", client=GUESSER)
    assert sign_in(hub.url, "name99", "password guess", client=GUESSER)[1].status_code == 429


def test_an_unknown_name_costs_the_same_hash_as_a_wrong_password(
    hub: HubServer, operator: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import hub.storage.registry as registry

    checked: list[str] = []
    real = registry.password_matches

    def counting(password: str, stored: str) -> bool:
        checked.append(stored.split("$", 1)[0])
        return real(password, stored)

    monkeypatch.setattr(registry, "password_matches", counting)
    sign_in(hub.url, "nobody", "some password", client="198.51.100.30")
    sign_in(hub.url, operator, "some password", client="198.51.100.31")
    assert checked == ["scrypt", "scrypt"]


def test_an_unknown_name_takes_as_long_as_a_wrong_password(hub: HubServer, operator: str) -> None:
    def timed(name: str, n: int) -> float:
        client = f"198.51.{100 + n // 200}.{n % 200 + 1}"  # a fresh client each time: no backoff
        start = time.perf_counter()
        assert sign_in(hub.url, name, "not the password", client=client)[1].status_code == 401
        return time.perf_counter() - start

    unknown, wrong = [], []
    for n in range(9):  # interleaved, so load on the machine hits both alike
        unknown.append(timed("nobody-at-all", 2 * n))
        wrong.append(timed(operator, 2 * n + 1))
    ratio = statistics.median(unknown) / statistics.median(wrong)
    assert 0.67 < ratio < 1.5, f"unknown {statistics.median(unknown):.3f}s vs wrong {statistics.median(wrong):.3f}s"


# --- bodies --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["/login", "/v1/codes", "/v1/stations/st-a/events", "/v1/stations/st-a/heartbeat", "/admin/content", "/nowhere"],
)
def test_a_declared_huge_anonymous_body_is_refused_before_it_is_sent(hub: HubServer, token: str, path: str) -> None:
    sock = connect(hub.url)
    sock.sendall(head("POST", path, {"Content-Length": str(256 * MIB), "Content-Type": "application/json"}))
    status, _ = read_answer(sock)
    assert status == 413
    seconds_until_closed(sock, 5.0)


def test_an_anonymous_batch_route_takes_only_a_small_body(hub: HubServer, token: str) -> None:
    sock = connect(hub.url)
    sock.sendall(head("POST", "/v1/stations/st-a/events", {"Content-Length": str(DEFAULT_MAX_BYTES + 1)}))
    assert read_answer(sock)[0] == 413


def test_another_stations_token_does_not_open_the_batch_limit(hub: HubServer, storage: Storage, token: str) -> None:
    other = storage.add_station("st-b", name="乙站", name_en="Station B")
    sock = connect(hub.url)
    headers = {"Content-Length": str(DEFAULT_MAX_BYTES + 1), "Authorization": f"Bearer {other}"}
    sock.sendall(head("POST", "/v1/stations/st-a/events", headers))
    assert read_answer(sock)[0] == 413


def test_the_station_itself_still_sends_a_big_batch(hub: HubServer, token: str) -> None:
    events = records("st-a", range(1, 1501), payload={"pad": "x" * 400})
    assert len(batch_body("st-a", events)) > DEFAULT_MAX_BYTES
    answer = post_events(hub.url, token, "st-a", events, compress=False)
    assert answer.status_code == 200, answer.text
    assert len(answer.json()["accepted"]) == 1500


def test_the_stations_batch_limit_is_the_protocols(hub: HubServer, token: str) -> None:
    sock = connect(hub.url)
    headers = {"Content-Length": str(MAX_BODY_BYTES + 1), "Authorization": f"Bearer {token}"}
    sock.sendall(head("POST", "/v1/stations/st-a/events", headers))
    assert read_answer(sock)[0] == 413
    body = gzip.compress(batch_body("st-a", records("st-a", [1])))
    assert len(body) < MAX_BODY_BYTES


def test_twelve_anonymous_8_mib_bodies_do_not_grow_the_hub(hub: HubServer, token: str) -> None:
    before = rss_bytes()
    for _ in range(12):
        status, sent = stream_chunked(
            hub.url, "/v1/stations/st-a/events", 8 * MIB, {"Content-Type": "application/json"}
        )
        assert status in (413, None)
        assert sent < 4 * MIB
    assert rss_bytes() - before < 32 * MIB


def test_the_content_editor_takes_a_big_form_only_from_an_operator(hub: HubServer, operator: str) -> None:
    form = {"content": "x" * (200 * 1024), "action": "check", "csrf": "none"}
    anonymous = requests.post(f"{hub.url}/admin/content", data=form, timeout=30)
    assert anonymous.status_code == 413
    signed_in = login(hub.url).post(f"{hub.url}/admin/content", data=form, timeout=30)
    assert signed_in.status_code == 403  # read whole, then refused for its forged form token


# --- slow and many clients -----------------------------------------------------------------------------------


@pytest.fixture
def quick_hub(storage: Storage) -> Iterator[HubServer]:
    """A hub with 1 s to deliver a request head (2 s for a stalled body); production has 5 s and 10 s."""
    with HubServer(storage, limits=ConnectionLimits(head_timeout_s=1.0)) as server:
        yield server


def test_half_a_request_head_is_closed_within_seconds(quick_hub: HubServer) -> None:
    sock = connect(quick_hub.url)
    sock.sendall(b"POST /login HTTP/1.1\r\nHost: localhost\r\n")
    assert seconds_until_closed(sock, 5.0) < 5.0


def test_a_half_sent_body_is_answered_408_and_closed(quick_hub: HubServer) -> None:
    sock = connect(quick_hub.url)
    sock.sendall(head("POST", "/login", {"Content-Length": "500", "Content-Type": "application/x-www-form-urlencoded"}))
    sock.sendall(b"username=ops&pass")
    assert read_answer(sock, 6.0)[0] == 408
    seconds_until_closed(sock, 5.0)


def test_the_health_check_answers_while_1100_connections_are_held(
    hub: HubServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    held = []
    try:
        for _ in range(1100):
            held.append(connect(hub.url))
        assert requests.get(f"{hub.url}/v1/health", timeout=5).status_code == 200
    finally:
        for sock in held:
            sock.close()
    assert [r for r in caplog.records if "accept" in r.getMessage().lower()] == []
