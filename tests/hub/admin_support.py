"""A city for the admin page tests: content, two stations, and their riders' events sent through the sync API.

What the seeded events add up to (all on the hub's fake "today"):

- st-a: rider R-1 checks in (+10) and takes water (−5); legal aid viewed 3 times, job listings once;
  R-1 asks for legal consultation slot ``legal-1-0312``; two feedbacks, one with a hostile text.
- st-b: R-2 checks in (+10); R-1 takes water (−5, the rest of the balance) and, offline, water again:
  the hub rejects that one (a double spend); R-3 asks for the same slot, which takes one rider.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import requests
from playwright.sync_api import Browser, BrowserContext, ViewportSize

from hub.content import Content
from hub.server import HubServer
from hub.storage import Storage
from kiosk.core.events import Event, EventRecord
from kiosk.core.rider_events import BookingRequested, FeedbackGiven, PointsEarned, PointsSpent, ServiceViewed
from tests.hub.support import post_events, record

OPERATOR = "ops"
PASSWORD = "correct horse"  # noqa: S105 - a test operator's password
HOSTILE = '<img src=x onerror="alert(1)"><script>alert("owned")</script>'
SLOT = "legal-1-0312"
CONTENT: dict[str, Any] = {
    "services": [
        {
            "id": "legal-1",
            "category": "legal_aid",
            "title_zh": "法律咨询",
            "title_en": "Legal consultation",
            "bookable": True,
            "slots": [{"id": SLOT, "starts": "2026-03-12T06:00:00Z", "ends": "2026-03-12T06:30:00Z"}],
        },
        {"id": "jobs-1", "category": "jobs", "title_zh": "招聘信息", "title_en": "Job listings"},
    ],
    "catalogue": [{"id": "water", "name_zh": "矿泉水", "name_en": "Bottled water", "points": 5}],
    "points_rules": [{"id": "checkin", "points": 10, "per_day": 1}],
}
TOKEN_RE = re.compile(r'name="csrf" value="([0-9a-f]{64})"')


@dataclass(frozen=True)
class City:
    """The seeded hub, and the operator's signed-in browser session."""

    url: str
    storage: Storage
    browser: requests.Session

    def get(self, path: str, **kw: Any) -> requests.Response:
        """GET as the operator."""
        return self.browser.get(f"{self.url}{path}", timeout=30, **kw)

    def token(self, path: str = "/admin/riders?rider=R-1") -> str:
        """The CSRF token the operator's forms carry (read from a page, as a browser would)."""
        found = TOKEN_RE.search(self.get(path).text)
        assert found is not None, f"no CSRF token on {path}"
        return found.group(1)

    def post(
        self, path: str, form: dict[str, str], *, headers: dict[str, str] | None = None, follow: bool = False
    ) -> requests.Response:
        """POST a form as the operator."""
        return self.browser.post(
            f"{self.url}{path}", data=form, headers=headers or {}, timeout=30, allow_redirects=follow
        )


LOGIN_TOKEN_RE = re.compile(r'name="login_csrf" value="([^"]+)"')


def sign_in(
    url: str, name: str = OPERATOR, password: str = PASSWORD, *, client: str | None = None
) -> tuple[requests.Session, requests.Response]:
    """A browser-like session that opened ``/login`` and submitted it; the answer (not followed).

    ``client`` is the address the hub should see (sent as X-Forwarded-For, which the hub takes from a
    proxy on loopback, as the tests are): another client, as far as the sign-in limits can tell.
    """
    session = requests.Session()
    if client is not None:
        session.headers["X-Forwarded-For"] = client
    form = session.get(f"{url}/login", timeout=30)
    found = LOGIN_TOKEN_RE.search(form.text)
    assert found is not None, "no sign-in token on /login"
    answer = session.post(
        f"{url}/login",
        data={"login_csrf": found.group(1), "username": name, "password": password},
        timeout=30,
        allow_redirects=False,
    )
    return session, answer


def login(url: str, name: str = OPERATOR, password: str = PASSWORD) -> requests.Session:
    """The operator's signed-in session (fails the test when the sign-in does not work)."""
    session, answer = sign_in(url, name, password)
    assert answer.status_code == 303, answer.text
    return session


def _records(station: str, bodies: list[Event]) -> list[EventRecord]:
    return [record(station, seq, type_=body.TYPE, payload=body.payload()) for seq, body in enumerate(bodies, 1)]


def seed(hub: HubServer, storage: Storage) -> City:
    """Content, an operator, stations st-a and st-b, and their events (see the module docstring)."""
    storage.set_operator(OPERATOR, PASSWORD)
    storage.load_content(Content.model_validate(CONTENT))
    token_a = storage.add_station("st-a", name="东站", name_en="East")
    token_b = storage.add_station("st-b", name="西站", name_en="West")
    day = "2026-03-10"
    a: list[Event] = [
        PointsEarned(entry_id="earn-a-0001", rider_id="R-1", rule="checkin", points=10, day=day),
        PointsSpent(entry_id="spend-a-001", rider_id="R-1", item_id="water", points=5, bay=9, confirmed=False),
        *(ServiceViewed(service_id="legal-1", category="legal_aid") for _ in range(3)),
        ServiceViewed(service_id="jobs-1", category="jobs", language="en"),
        BookingRequested(booking_id="book-a-0001", rider_id="R-1", service_id="legal-1", slot_id=SLOT),
        FeedbackGiven(feedback_id="feed-a-0001", rating=4, topic="drinks_snacks", text=HOSTILE),
        FeedbackGiven(feedback_id="feed-a-0002", rating=2, topic="cleanliness", rider_id="R-1"),
    ]
    b: list[Event] = [
        PointsEarned(entry_id="earn-b-0001", rider_id="R-2", rule="checkin", points=10, day=day),
        PointsSpent(entry_id="spend-b-001", rider_id="R-1", item_id="water", points=5, bay=9, confirmed=False),
        PointsSpent(entry_id="spend-b-002", rider_id="R-1", item_id="water", points=5, bay=9, confirmed=False),
        BookingRequested(booking_id="book-b-0001", rider_id="R-3", service_id="legal-1", slot_id=SLOT),
    ]
    for station, token, bodies in (("st-a", token_a, a), ("st-b", token_b, b)):
        answer = post_events(hub.url, token, station, _records(station, bodies))
        assert answer.ok, answer.text
    return City(hub.url, storage, login(hub.url))


def signed_in_context(browser: Browser, viewport: ViewportSize, url: str) -> BrowserContext:
    """A fresh browser profile of ``viewport``'s size, signed in as the test operator at the hub at ``url``.

    How the operator signs in is the hub's business: browser tests come here for it, never do it themselves.
    """
    context = browser.new_context(viewport=viewport)
    session = login(url)
    host = url.split("//", 1)[1].split(":", 1)[0]
    context.add_cookies(
        [{"name": c.name, "value": c.value or "", "domain": host, "path": "/"} for c in session.cookies]
    )
    return context
