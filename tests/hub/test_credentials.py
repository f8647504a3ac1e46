"""Each credential of the hub reaches only what its role allows; operators sign in to sessions.

Against the seeded hub on loopback, on SQLite and PostgreSQL: the rider app's key cannot open the
admin pages or credit points, a metrics key only reads the fleet view, an operator key acts under its
operator's name, a station's token reaches only its own station's sync routes. Sessions carry strict
cookies, end at sign-out, with a new password and after idling; operator pages cannot be cached or framed.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
import requests

from hub.auth import ApiRole
from hub.server import HubServer
from hub.storage import Storage
from hub.storage.sessions import SESSION_IDLE, SESSION_LIFETIME
from kiosk.core.clock import FakeClock
from tests.hub.admin_support import OPERATOR, PASSWORD, City, login, seed, sign_in
from tests.hub.support import heartbeat, post_events, records

OPERATOR_PAGES = ["/fleet", "/fleet.csv", "/admin", "/admin/bookings", "/admin/content", "/admin/riders?rider=R-1"]
CREDIT = {"rider": "R-2", "points": "1000", "reason": "free points"}


@pytest.fixture
def city(hub: HubServer, storage: Storage) -> City:
    """The seeded hub (see tests/hub/admin_support.py)."""
    return seed(hub, storage)


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def balance_of_r2(storage: Storage) -> int:
    return storage.balance("R-2")


# --- the rider app's key --------------------------------------------------------------------------------


@pytest.mark.parametrize("path", OPERATOR_PAGES)
def test_the_rider_apps_key_opens_no_operator_page(city: City, storage: Storage, path: str) -> None:
    key = storage.add_api_key("rider-app", ApiRole.CODES)
    answer = requests.get(f"{city.url}{path}", headers=bearer(key), timeout=30)
    assert answer.status_code == 403
    assert "R-1" not in answer.text


def test_the_rider_apps_key_cannot_credit_points(city: City, storage: Storage) -> None:
    key = storage.add_api_key("rider-app", ApiRole.CODES)
    before = balance_of_r2(storage)
    # Even with a form token taken from an operator's page: the key itself is refused.
    form = {**CREDIT, "csrf": city.token()}
    answer = requests.post(f"{city.url}/admin/riders/credit", data=form, headers=bearer(key), timeout=30)
    assert answer.status_code == 403
    assert balance_of_r2(storage) == before


def test_the_rider_apps_key_issues_codes(city: City, storage: Storage) -> None:
    key = storage.add_api_key("rider-app", ApiRole.CODES)
    answer = requests.post(f"{city.url}/v1/codes", json={"rider_id": "R-1"}, headers=bearer(key), timeout=30)
    assert answer.status_code == 200
    assert answer.json()["code"].startswith(("RK1:", "RK2:"))


def test_a_key_made_before_roles_is_the_rider_apps(city: City, storage: Storage) -> None:
    key = storage.add_api_key("old-key")
    assert storage.api_key(key) is not None
    assert requests.get(f"{city.url}/admin", headers=bearer(key), timeout=30).status_code == 403


# --- metrics and operator keys ------------------------------------------------------------------------


def test_a_metrics_key_reads_the_fleet_view_only(city: City, storage: Storage) -> None:
    key = storage.add_api_key("monitor", ApiRole.METRICS)
    assert requests.get(f"{city.url}/fleet", headers=bearer(key), timeout=30).status_code == 200
    assert requests.get(f"{city.url}/fleet.csv", headers=bearer(key), timeout=30).status_code == 200
    assert requests.get(f"{city.url}/admin", headers=bearer(key), timeout=30).status_code == 403
    form = {**CREDIT, "csrf": city.token()}
    assert (
        requests.post(f"{city.url}/admin/riders/credit", data=form, headers=bearer(key), timeout=30).status_code == 403
    )
    code = requests.post(f"{city.url}/v1/codes", json={"rider_id": "R-1"}, headers=bearer(key), timeout=30)
    assert code.status_code == 403


def test_an_operator_key_credits_under_its_operators_name(city: City, storage: Storage) -> None:
    key = storage.add_api_key("city-scripts", ApiRole.OPERATOR, operator=OPERATOR)
    page = requests.get(f"{city.url}/admin/riders?rider=R-2", headers=bearer(key), timeout=30).text
    token = page.split('name="csrf" value="')[1].split('"')[0]
    form = {"rider": "R-2", "points": "5", "reason": "community report", "csrf": token}
    answer = requests.post(
        f"{city.url}/admin/riders/credit", data=form, headers=bearer(key), timeout=30, allow_redirects=False
    )
    assert answer.status_code == 303
    entry = storage.ledger(rider_id="R-2")[0]
    assert entry.reason == f"community report (by {OPERATOR} (key city-scripts))"


def test_an_operator_key_cannot_issue_codes(city: City, storage: Storage) -> None:
    key = storage.add_api_key("city-scripts", ApiRole.OPERATOR, operator=OPERATOR)
    answer = requests.post(f"{city.url}/v1/codes", json={"rider_id": "R-1"}, headers=bearer(key), timeout=30)
    assert answer.status_code == 403


def test_an_operator_key_must_name_an_operator(storage: Storage) -> None:
    with pytest.raises(ValueError, match="needs --operator"):
        storage.add_api_key("scripts", ApiRole.OPERATOR)
    with pytest.raises(ValueError, match="no operator"):
        storage.add_api_key("scripts", ApiRole.OPERATOR, operator="nobody")


def test_a_removed_key_stops_working(city: City, storage: Storage) -> None:
    key = storage.add_api_key("monitor", ApiRole.METRICS)
    assert storage.remove_api_key("monitor")
    assert requests.get(f"{city.url}/fleet", headers=bearer(key), timeout=30).status_code == 401


def test_a_session_credit_names_the_operator(city: City, storage: Storage) -> None:
    form = {"rider": "R-2", "points": "5", "reason": "goodwill", "csrf": city.token()}
    assert city.post("/admin/riders/credit", form).status_code == 303
    assert storage.ledger(rider_id="R-2")[0].reason == f"goodwill (by {OPERATOR})"


# --- station tokens --------------------------------------------------------------------------------------


@pytest.fixture
def st_a_token(storage: Storage) -> str:
    """A fresh token of st-a (seed() keeps its own to itself)."""
    return storage.new_station_token("st-a")


def test_a_station_token_reaches_only_its_own_sync_routes(city: City, storage: Storage, st_a_token: str) -> None:
    assert post_events(city.url, st_a_token, "st-b", records("st-b", [90])).status_code == 403
    other = f"{city.url}/v1/stations/st-b"
    assert requests.get(f"{other}/bundle", headers=bearer(st_a_token), timeout=30).status_code == 403
    beat = requests.post(f"{other}/heartbeat", json=heartbeat("st-b"), headers=bearer(st_a_token), timeout=30)
    assert beat.status_code == 403
    assert requests.get(f"{city.url}/v1/stations/st-a/bundle", headers=bearer(st_a_token), timeout=30).ok


@pytest.mark.parametrize("path", [*OPERATOR_PAGES, "/v1/codes"])
def test_a_station_token_is_no_api_key(city: City, st_a_token: str, path: str) -> None:
    method = requests.post if path == "/v1/codes" else requests.get
    answer = method(f"{city.url}{path}", headers=bearer(st_a_token), json={"rider_id": "R-1"}, timeout=30)
    assert answer.status_code == 401


# --- sessions -------------------------------------------------------------------------------------------


def test_signing_in_gives_a_strict_http_only_cookie(city: City) -> None:
    _, answer = sign_in(city.url)
    assert answer.status_code == 303
    cookie = answer.headers["set-cookie"]
    assert "hub_session=" in cookie
    assert "HttpOnly" in cookie
    assert "samesite=strict" in cookie.lower()
    assert "secure" not in cookie.lower()  # plain http on loopback: a Secure cookie would never come back


def test_behind_the_tls_proxy_the_cookie_is_secure(city: City) -> None:
    proxy = {"X-Forwarded-Proto": "https"}  # what the TLS proxy on loopback says
    form_page = requests.get(f"{city.url}/login", headers=proxy, timeout=30)
    assert "; secure" in form_page.headers["set-cookie"].lower()
    token = form_page.text.split('name="login_csrf" value="')[1].split('"')[0]
    form = {"login_csrf": token, "username": OPERATOR, "password": PASSWORD}
    # The browser sends the Secure cookie back over https; requests (plain http here) must be told to.
    headers = {**proxy, "Cookie": f"hub_login={token}"}
    answer = requests.post(f"{city.url}/login", data=form, headers=headers, timeout=30, allow_redirects=False)
    assert answer.status_code == 303
    assert "; secure" in answer.headers["set-cookie"].lower()


def test_signing_in_returns_to_the_page_asked_for_and_nowhere_else(city: City) -> None:
    for target, landing in (("/admin/bookings", "/admin/bookings"), ("//evil.example/x", "/fleet")):
        session = requests.Session()
        page = session.get(f"{city.url}/login", params={"next": target}, timeout=30).text
        token = page.split('name="login_csrf" value="')[1].split('"')[0]
        form = {"login_csrf": token, "username": OPERATOR, "password": PASSWORD}
        answer = session.post(
            f"{city.url}/login", params={"next": target}, data=form, timeout=30, allow_redirects=False
        )
        assert answer.headers["location"] == landing


def test_a_sign_in_without_the_forms_token_is_refused(city: City) -> None:
    answer = requests.post(
        f"{city.url}/login", data={"username": OPERATOR, "password": PASSWORD}, timeout=30, allow_redirects=False
    )
    assert answer.status_code == 403
    assert "hub_session" not in answer.headers.get("set-cookie", "")


def test_signing_out_ends_the_session(city: City) -> None:
    session = login(city.url)
    page = session.get(f"{city.url}/logout", timeout=30).text
    token = page.split('name="csrf" value="')[1].split('"')[0]
    cookie = session.cookies["hub_session"]
    assert (
        session.post(f"{city.url}/logout", data={"csrf": token}, timeout=30, allow_redirects=False).status_code == 303
    )
    stolen = requests.get(f"{city.url}/admin", cookies={"hub_session": cookie}, timeout=30)
    assert stolen.status_code == 401


def test_signing_out_needs_the_sessions_token(city: City) -> None:
    session = login(city.url)
    assert session.post(f"{city.url}/logout", data={"csrf": "forged"}, timeout=30).status_code == 403
    assert session.get(f"{city.url}/admin", timeout=30).status_code == 200


def test_a_new_password_ends_the_operators_sessions(city: City, storage: Storage) -> None:
    session = login(city.url)
    storage.set_operator(OPERATOR, "another long password")
    assert session.get(f"{city.url}/admin", timeout=30).status_code == 401


@pytest.mark.parametrize("idle", [SESSION_IDLE + timedelta(seconds=1)])
def test_an_idle_session_expires(city: City, hub_clock: FakeClock, idle: timedelta) -> None:
    session = login(city.url)
    hub_clock.advance(idle.total_seconds())
    assert session.get(f"{city.url}/admin", timeout=30).status_code == 401


def test_a_used_session_still_ends_after_its_lifetime(city: City, hub_clock: FakeClock) -> None:
    session = login(city.url)
    steps = int(SESSION_LIFETIME / timedelta(hours=1))
    for _ in range(steps):
        hub_clock.advance(3600)
        assert session.get(f"{city.url}/admin", timeout=30).status_code == 200
    hub_clock.advance(61)
    assert session.get(f"{city.url}/admin", timeout=30).status_code == 401


def test_another_sessions_form_token_is_refused(city: City, storage: Storage) -> None:
    other = login(city.url)
    page = other.get(f"{city.url}/admin/riders?rider=R-2", timeout=30).text
    their_token = page.split('name="csrf" value="')[1].split('"')[0]
    assert their_token != city.token()
    form = {"rider": "R-2", "points": "5", "reason": "report", "csrf": their_token}
    assert city.post("/admin/riders/credit", form).status_code == 403


# --- headers and docs -------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [*OPERATOR_PAGES, "/login"])
def test_operator_pages_are_never_cached_or_framed(city: City, path: str) -> None:
    answer = city.get(path)
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "no-store"
    assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]


def test_refusals_of_operator_pages_are_not_cached_either(city: City) -> None:
    answer = requests.get(f"{city.url}/admin", timeout=30)
    assert answer.status_code == 401
    assert answer.headers["cache-control"] == "no-store"


@pytest.mark.parametrize("path", ["/docs", "/redoc", "/docs/oauth2-redirect"])
def test_the_cdn_docs_pages_are_off_by_default(city: City, path: str) -> None:
    assert city.get(path).status_code == 404


@pytest.fixture
def docs_hub(storage: Storage) -> Iterator[HubServer]:
    """A hub started with --api-docs."""
    storage.set_operator(OPERATOR, PASSWORD)
    with HubServer(storage, api_docs=True) as server:
        yield server


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_docs_when_turned_on_need_an_operator(docs_hub: HubServer, storage: Storage, path: str) -> None:
    assert requests.get(f"{docs_hub.url}{path}", timeout=30).status_code == 401
    key = storage.add_api_key("rider-app")
    assert requests.get(f"{docs_hub.url}{path}", headers=bearer(key), timeout=30).status_code == 403
    answer = login(docs_hub.url).get(f"{docs_hub.url}{path}", timeout=30)
    assert answer.status_code == 200
    assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
