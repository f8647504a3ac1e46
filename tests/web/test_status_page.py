"""The status page over real HTTP: sign-in, sessions, CSRF, actions and their audit, metrics, headers."""

from __future__ import annotations

import re

import pytest
import requests

from tests.support import wait_until
from tests.web.conftest import METRICS_KEY, PASSWORD, STAFF, WAIT, WebStation, csrf_of, form_value, sign_in

PAGES = ["/", "/devices", "/sync", "/events", "/simulator"]


@pytest.mark.parametrize("path", PAGES)
def test_a_page_without_a_session_sends_to_the_sign_in(web: WebStation, path: str) -> None:
    answer = requests.get(f"{web.url}{path}", allow_redirects=False, timeout=5)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login"


@pytest.mark.parametrize("path", ["/api/status", "/api/events", "/metrics", "/api/screen"])
def test_the_api_and_metrics_refuse_a_request_without_credentials(web: WebStation, path: str) -> None:
    assert requests.get(f"{web.url}{path}", timeout=5).status_code == 401


def test_signing_in_opens_the_overview_with_a_strict_http_only_cookie(web: WebStation) -> None:
    session, answer = sign_in(web.url)
    assert answer.status_code == 200
    assert "Simulated Rider Station" in answer.text
    cookie = answer.history[0].headers["set-cookie"]
    assert "kiosk_session=" in cookie
    assert "HttpOnly" in cookie
    assert "samesite=strict" in cookie.lower()
    assert session.get(f"{web.url}/api/status", timeout=5).status_code == 200


def test_a_wrong_password_is_refused_plainly(web: WebStation) -> None:
    session, answer = sign_in(web.url, STAFF, "not the password")
    assert answer.status_code == 401
    assert "not right" in answer.text
    assert session.get(f"{web.url}/", allow_redirects=False, timeout=5).status_code == 303


def test_a_sign_in_without_the_forms_token_is_refused(web: WebStation) -> None:
    answer = requests.post(f"{web.url}/login", data={"username": STAFF, "password": PASSWORD}, timeout=5)
    assert answer.status_code == 403
    assert "kiosk_session" not in answer.headers.get("set-cookie", "")


def test_too_many_wrong_passwords_block_even_the_right_one(web: WebStation) -> None:
    for _ in range(3):  # the fixture allows 3 failures per name
        assert sign_in(web.url, STAFF, "guess guess guess")[1].status_code == 401
    _, answer = sign_in(web.url)
    assert answer.status_code == 429
    assert int(answer.headers["retry-after"]) > 0
    assert "Too many wrong passwords" in answer.text


def test_another_name_is_not_blocked_by_someone_elses_failures(web: WebStation) -> None:
    web.users.add("bob", "bobs password 1")
    for _ in range(3):
        sign_in(web.url, STAFF, "guess guess guess")
    assert sign_in(web.url, "bob", "bobs password 1")[1].status_code == 200


def test_an_action_without_the_csrf_token_is_refused_and_not_done(web: WebStation) -> None:
    session, _ = sign_in(web.url)
    answer = session.post(f"{web.url}/actions/bays/7/out-of-service", data={"reason": "forged"}, timeout=5)
    assert answer.status_code == 403
    assert web.tech.status()["components"]["station"]["out_of_service"] == {}


def test_an_action_with_another_sessions_csrf_token_is_refused(web: WebStation) -> None:
    mine, _ = sign_in(web.url)
    other, _ = sign_in(web.url)
    data = {"reason": "forged", "csrf": csrf_of(other, web.url)}
    assert mine.post(f"{web.url}/actions/bays/7/out-of-service", data=data, timeout=5).status_code == 403


def test_an_api_post_with_the_session_cookie_needs_the_csrf_header(web: WebStation) -> None:
    session, _ = sign_in(web.url)
    assert session.post(f"{web.url}/api/swap/reopen", timeout=5).status_code == 403
    headers = {"X-CSRF-Token": csrf_of(session, web.url)}
    assert session.post(f"{web.url}/api/swap/reopen", headers=headers, timeout=5).status_code == 202


def test_taking_a_bay_out_of_service_is_kept_and_audited_with_who(web: WebStation) -> None:
    session, _ = sign_in(web.url)
    data = {"reason": "door hinge broken", "csrf": csrf_of(session, web.url), "back": "/devices"}
    answer = session.post(f"{web.url}/actions/bays/7/out-of-service", data=data, timeout=5)
    assert answer.url.endswith("/devices")
    assert "Bay 7 is out of service" in answer.text
    assert web.tech.status()["components"]["station"]["out_of_service"] == {"7": "door hinge broken"}
    assert web.staff_actions()[-1] == {
        "user": STAFF,
        "action": "out_of_service",
        "bay": 7,
        "detail": "door hinge broken",
        "ok": True,
        "error": None,
    }


def test_a_bay_comes_back_into_service(web: WebStation) -> None:
    session, _ = sign_in(web.url)
    csrf = csrf_of(session, web.url)
    session.post(f"{web.url}/actions/bays/7/out-of-service", data={"reason": "test", "csrf": csrf}, timeout=5)
    session.post(f"{web.url}/actions/bays/7/in-service", data={"csrf": csrf}, timeout=5)
    assert web.tech.status()["components"]["station"]["out_of_service"] == {}
    assert [a["action"] for a in web.staff_actions()][-2:] == ["out_of_service", "back_in_service"]


def test_opening_a_bay_unlocks_it_and_records_who(web: WebStation) -> None:
    session, _ = sign_in(web.url)
    session.post(f"{web.url}/actions/bays/2/open", data={"csrf": csrf_of(session, web.url)}, timeout=5)
    wait_until(lambda: web.tech.bay(2)["door"] == "open", WAIT, "bay 2's door open")
    assert web.staff_actions()[-1]["action"] == "open_bay"
    assert web.staff_actions()[-1]["user"] == STAFF


def test_a_failed_action_is_audited_as_failed_with_its_reason(web: WebStation) -> None:
    session, _ = sign_in(web.url)
    answer = session.post(
        f"{web.url}/actions/bays/42/out-of-service", data={"reason": "x", "csrf": csrf_of(session, web.url)}, timeout=5
    )
    assert "That did not work: this cabinet has no bay 42" in answer.text
    last = web.staff_actions()[-1]
    assert (last["ok"], last["error"]) == (False, "this cabinet has no bay 42")


def test_restarting_the_ui_calls_the_wired_restart(web: WebStation) -> None:
    session, _ = sign_in(web.url)
    session.post(f"{web.url}/actions/restart-ui", data={"csrf": csrf_of(session, web.url)}, timeout=5)
    assert web.restarts == ["kiosk-ui"]


def test_signing_out_ends_the_session(web: WebStation) -> None:
    session, _ = sign_in(web.url)
    session.post(f"{web.url}/logout", data={"csrf": csrf_of(session, web.url)}, timeout=5)
    assert session.get(f"{web.url}/", allow_redirects=False, timeout=5).status_code == 303
    assert [a["action"] for a in web.staff_actions()] == ["sign_in", "sign_out"]


def test_a_new_password_ends_the_accounts_sessions(web: WebStation) -> None:
    session, _ = sign_in(web.url)
    web.users.set_password(STAFF, "a brand new password")
    assert session.get(f"{web.url}/", allow_redirects=False, timeout=5).status_code == 303


def test_the_events_page_filters_by_type_prefix(web: WebStation) -> None:
    session, _ = sign_in(web.url)
    page = session.get(f"{web.url}/events", params={"type": "bay.battery", "limit": "3"}, timeout=5).text
    types = set(re.findall(r'<tr data-type="([^"]+)"', page))
    assert types == {"bay.battery_changed"}
    assert page.count('<tr data-type="') == 3


def test_the_devices_page_shows_every_bay_with_its_battery(web: WebStation) -> None:
    session, _ = sign_in(web.url)
    page = session.get(f"{web.url}/devices", timeout=5).text
    for bay in range(1, 9):
        assert f'id="bay-{bay}"' in page
    assert "SH2127128" in page  # bay 1's battery with seed 1
    assert "Entry door" in page


def test_the_metrics_key_reads_metrics_in_the_text_format(web: WebStation) -> None:
    answer = requests.get(f"{web.url}/metrics", headers={"Authorization": f"Bearer {METRICS_KEY}"}, timeout=5)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert 'kiosk_bays{station="sim-001"} 10' in answer.text
    assert 'kiosk_bays_with_battery{station="sim-001"} 6' in answer.text
    assert 'kiosk_swaps_total{station="sim-001",outcome="completed"} 0' in answer.text


def test_the_metrics_key_reads_status_but_cannot_act(web: WebStation) -> None:
    headers = {"Authorization": f"Bearer {METRICS_KEY}"}
    assert requests.get(f"{web.url}/api/status", headers=headers, timeout=5).status_code == 200
    assert requests.get(f"{web.url}/api/screen", headers=headers, timeout=5).status_code == 403
    assert requests.post(f"{web.url}/api/swap/reopen", headers=headers, timeout=5).status_code == 403


def test_the_ui_token_still_reaches_the_api(web: WebStation) -> None:
    assert web.tech.status()["station_id"] == "sim-001"
    assert web.tech.session.post(f"{web.url}/api/swap/reopen", timeout=5).status_code == 202


def test_pages_forbid_inline_script_and_framing(web: WebStation) -> None:
    _, answer = sign_in(web.url)
    csp = answer.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "<script>" not in answer.text
    assert form_value(answer.text, "csrf")


def test_a_silent_lock_board_raises_one_warning_not_one_per_bay(web: WebStation) -> None:
    assert web.tech.sim("/faults", fault="board_silent", bay=1).ok
    wait_until(lambda: "not answering" in " ".join(web.tech.status()["warnings"]), WAIT, "the board's fault")
    silent = [w for w in web.tech.status()["warnings"] if "not answering" in w]
    assert len(silent) == 1, silent
    assert "bays 1–10" in silent[0]
