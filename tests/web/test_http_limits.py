"""Attacks on the station's HTTP server on loopback: huge bodies, half-sent requests, held connections, guessing.

The station under test has short deadlines (1 s for a request head and for a stalled body, see
tests/web/conftest.py); production has 5 s and 10 s.
"""

from __future__ import annotations

import logging
import resource
from collections.abc import Iterator

import pytest
import requests
from requests.adapters import HTTPAdapter

from kiosk.core.http_limits import DEFAULT_MAX_BYTES
from tests.http_attacks import connect, head, read_answer, rss_bytes, seconds_until_closed, stream_chunked
from tests.support import wait_until
from tests.web.conftest import PASSWORD, STAFF, WAIT, WebStation, form_value

MIB = 1024 * 1024
ENDPOINTS = ["/login", "/logout", "/api/swap/reopen", "/api/rider/identify", "/actions/bays/1/open", "/no/such/page"]


@pytest.mark.parametrize("path", ENDPOINTS)
def test_a_declared_huge_body_is_refused_before_it_is_sent(web: WebStation, path: str) -> None:
    sock = connect(web.url)
    sock.sendall(head("POST", path, {"Content-Length": str(256 * MIB), "Content-Type": "application/json"}))
    status, answer = read_answer(sock)
    assert status == 413
    assert b"connection: close" in answer.lower()
    seconds_until_closed(sock, 5.0)


def test_an_unauthenticated_streamed_body_is_cut_at_the_limit(web: WebStation) -> None:
    before = rss_bytes()
    status, sent = stream_chunked(web.url, "/login", 256 * MIB, {"Content-Type": "application/x-www-form-urlencoded"})
    assert status in (413, None)  # None: the server cut the connection before its answer was read
    assert sent < 8 * MIB  # the server stopped taking the body soon after the limit
    assert rss_bytes() - before < 32 * MIB


def test_a_body_just_under_the_limit_still_reaches_the_page(web: WebStation) -> None:
    answer = requests.post(f"{web.url}/login", data={"filler": "x" * (DEFAULT_MAX_BYTES - 1000)}, timeout=10)
    assert answer.status_code == 403  # the sign-in form's own check, not the size limit


def test_half_a_request_head_is_closed_within_seconds(web: WebStation) -> None:
    sock = connect(web.url)
    sock.sendall(b"POST /login HTTP/1.1\r\nHost: localhost\r\nContent-Le")
    assert seconds_until_closed(sock, 5.0) < 5.0


def test_a_connection_that_sends_nothing_is_closed_within_seconds(web: WebStation) -> None:
    assert seconds_until_closed(connect(web.url), 5.0) < 5.0


def test_a_trickled_head_does_not_keep_the_connection(web: WebStation) -> None:
    sock = connect(web.url)
    sock.sendall(b"GET /api/health HTTP/1.1\r\n")
    sock.settimeout(0.3)
    closed = False
    for _ in range(20):  # a byte every 0.3 s: each one would reset a plain idle timer
        try:
            sock.sendall(b"X")
            if sock.recv(1) == b"":
                closed = True
                break
        except TimeoutError:
            continue
        except (BrokenPipeError, ConnectionResetError):
            closed = True
            break
    assert closed, "a head trickled for 6 s was still being read"


def test_a_half_sent_body_is_answered_408_and_closed(web: WebStation) -> None:
    sock = connect(web.url)
    sock.sendall(
        head("POST", "/login", {"Content-Length": "1000", "Content-Type": "application/x-www-form-urlencoded"})
    )
    sock.sendall(b"username=alice&pass")
    status, _ = read_answer(sock, 5.0)
    assert status == 408
    seconds_until_closed(sock, 5.0)


@pytest.fixture
def low_open_files_limit() -> Iterator[None]:
    """The soft open-files limit most systems start a service with (1024), for the station started after it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 2400:
        pytest.fail(f"the hard open-files limit ({hard}) is too low for 1,100 connections plus their server ends")
    resource.setrlimit(resource.RLIMIT_NOFILE, (1024, hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, resource.getrlimit(resource.RLIMIT_NOFILE)[0]), hard))


def test_the_health_check_answers_while_1100_connections_are_held(
    low_open_files_limit: None, web: WebStation, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    held = []
    try:
        for _ in range(1100):
            held.append(connect(web.url))
        answer = requests.get(f"{web.url}/api/health", timeout=5)
        assert answer.status_code == 200
    finally:
        for sock in held:
            sock.close()
    accept_errors = [r for r in caplog.records if "accept" in r.getMessage().lower()]
    assert len(accept_errors) <= 1
    assert len(caplog.records) < 20


# --- guessing passwords --------------------------------------------------------------------------


class _From(HTTPAdapter):
    """Connections from one loopback address: another client, as far as the station can tell."""

    def __init__(self, source: str) -> None:
        self.source = source
        super().__init__()

    def init_poolmanager(self, *args: object, **kwargs: object) -> None:
        kwargs["source_address"] = (self.source, 0)
        super().init_poolmanager(*args, **kwargs)  # type: ignore[arg-type]


def sign_in_from(source: str, url: str, name: str, password: str) -> tuple[requests.Session, requests.Response]:
    """Sign in from loopback address ``source``."""
    session = requests.Session()
    session.mount("http://", _From(source))
    token = form_value(session.get(f"{url}/login", timeout=5).text, "login_csrf")
    answer = session.post(
        f"{url}/login", data={"login_csrf": token, "username": name, "password": password}, timeout=10
    )
    return session, answer


def test_a_guessing_client_is_locked_out_but_not_the_account(web: WebStation) -> None:
    answers = [sign_in_from("127.0.0.9", web.url, STAFF, f"guess {n:04d} guess")[1].status_code for n in range(8)]
    assert answers[:3] == [401, 401, 401]
    assert set(answers[3:]) == {429}
    assert sign_in_from("127.0.0.9", web.url, STAFF, PASSWORD)[1].status_code == 429
    # The station's own screen (or a technician's laptop) is another client: the right password works.
    session, answer = sign_in_from("127.0.0.1", web.url, STAFF, PASSWORD)
    assert answer.status_code == 200
    assert session.get(f"{web.url}/api/status", timeout=5).status_code == 200


def test_guessing_an_account_raises_an_alarm(web: WebStation) -> None:
    for source in ("127.0.0.7", "127.0.0.8"):
        for n in range(3):
            sign_in_from(source, web.url, STAFF, f"guess {n:04d} guess")
    events = wait_until(lambda: web.tech.events("staff.sign_in_alarm"), WAIT, "the alarm event")
    assert events[0]["payload"]["account"] == STAFF
    assert set(events[0]["payload"]["clients"]) == {"127.0.0.7", "127.0.0.8"}
    session, _ = sign_in_from("127.0.0.1", web.url, STAFF, PASSWORD)
    warnings = session.get(f"{web.url}/api/status", timeout=5).json()["warnings"]
    assert any("password guessing" in w and STAFF in w for w in warnings)
