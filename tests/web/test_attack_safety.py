"""Attacks on clearing a safety alarm from the status page, and on what the banner and charts show.

Against a real station with a simulated cabinet whose smoke detector is in alarm (a cabinet fire): the reset
is refused without a session, without or with another session's CSRF token, with the touchscreen's token or
the metrics key; refused while the smoke remains; and a replay once the cabinet is calm clears nothing and says
so. Nothing refused at the door is audited as done. Then hostile text in the parts the banner and charts draw.
"""

from __future__ import annotations

import math
from typing import Any

import requests

from kiosk.api.web import render
from kiosk.api.web import safety as safety_html
from kiosk.station.safety_history import STEP_S, WINDOW_S, Point, keep
from tests.support import wait_until
from tests.web.conftest import METRICS_KEY, WAIT, WebStation, csrf_of, sign_in

RESET = "/actions/safety/reset"


def cabinet(web: WebStation) -> dict[str, Any]:
    part: dict[str, Any] = web.tech.status()["components"]["safety"]["cabinet"]
    return part


def clears(web: WebStation) -> list[dict[str, Any]]:
    return [a for a in web.staff_actions() if a["action"] == "clear_safety_alarm"]


def on_fire(web: WebStation) -> None:
    web.sim.inject("smoke")
    wait_until(lambda: cabinet(web)["level"] == "fire", WAIT, "the cabinet at fire")


def test_clearing_a_fire_is_refused_to_everyone_but_a_signed_in_staff_member_from_the_page(web: WebStation) -> None:
    on_fire(web)
    url = f"{web.url}{RESET}"
    assert requests.post(url, timeout=5, allow_redirects=False).status_code == 401
    ui = {"Authorization": f"Bearer {web.station.api.ctx.token}"}
    assert requests.post(url, headers=ui, timeout=5, allow_redirects=False).status_code in (401, 403)
    monitor = {"Authorization": f"Bearer {METRICS_KEY}"}
    assert requests.post(url, headers=monitor, timeout=5, allow_redirects=False).status_code in (401, 403)
    forged = {"Authorization": "Bearer not-a-token"}
    assert requests.post(url, headers=forged, timeout=5, allow_redirects=False).status_code == 401
    staff, _ = sign_in(web.url)
    other, _ = sign_in(web.url)
    assert staff.post(url, timeout=5, allow_redirects=False).status_code == 403  # no CSRF token
    wrong = {"csrf": csrf_of(other, web.url)}  # another session's token
    assert staff.post(url, data=wrong, timeout=5, allow_redirects=False).status_code == 403
    cross_site = {"Origin": "http://evil.example", "Referer": "http://evil.example/"}
    assert staff.post(url, headers=cross_site, timeout=5, allow_redirects=False).status_code == 403
    assert cabinet(web)["level"] == "fire"
    assert clears(web) == []  # nothing refused at the door is audited as a clear

    # The real thing, while the detector still sees smoke: refused, and audited as refused.
    token = {"csrf": csrf_of(staff, web.url)}
    answer = staff.post(url, data=token, timeout=5, allow_redirects=False)
    assert answer.status_code == 303
    assert "still reads smoke" in staff.get(f"{web.url}/", timeout=5).text
    assert cabinet(web)["level"] == "fire"
    web.sim.inject("smoke", on=False)
    wait_until(lambda: "smoke" not in cabinet(web)["active"], WAIT, "the detector to see no smoke")
    assert staff.post(url, data=token, timeout=5, allow_redirects=False).status_code == 303
    assert cabinet(web)["level"] == "normal"
    # Replayed once the cabinet is calm: nothing to clear, and the page and the audit say so.
    assert staff.post(url, data=token, timeout=5, allow_redirects=False).status_code == 303
    assert "not in alarm: there is nothing to clear" in staff.get(f"{web.url}/", timeout=5).text
    assert [(a["user"], a.get("ok", True)) for a in clears(web)] == [
        ("alice", False),
        ("alice", True),
        ("alice", False),
    ]


def test_a_hostile_out_of_service_note_is_shown_as_text_on_every_page(web: WebStation) -> None:
    staff, _ = sign_in(web.url)
    note = '<img src=x onerror="alert(1)"><script>alert(2)</script>'
    token = csrf_of(staff, web.url)
    answer = staff.post(
        f"{web.url}/actions/bays/3/out-of-service",
        data={"csrf": token, "reason": note},
        allow_redirects=False,
        timeout=5,
    )
    assert answer.status_code == 303
    for path in ("/", "/devices"):
        html = staff.get(f"{web.url}{path}", timeout=5).text
        assert "<script>alert(2)" not in html
        assert "<img src=x" not in html
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in staff.get(f"{web.url}/devices", timeout=5).text


def test_a_charts_test_name_cannot_break_out_of_its_attribute() -> None:
    drawn = safety_html.chart("T", "°C", [(0.0, 20.0)], window_s=300.0, test='3 onmouseover=alert(1) x="')
    assert 'data-test="3 onmouseover=alert(1) x=&quot;"' in drawn


def test_absurd_readings_draw_without_breaking_the_page() -> None:
    view = render.View(user="alice", csrf="t", path="/devices", now_mono=1000.0)
    for values in ([6553.5, -3276.8], [1e308, -1e308], [math.nan, 20.0], [math.inf, 20.0], [20.0, 20.0], [20.0]):
        history = [[1000.0 - i, v, None, None] for i, v in enumerate(values)]
        status = {
            "components": {
                "safety": {
                    "level": "alarm",
                    "bays": {"1": {"level": "alarm", "reasons": ["alarm_temperature"], "history": history}},
                    "now_mono": 1000.0,
                    "history_window_s": 0.0,
                    "limits": {"alarm_c": 60.0},
                }
            }
        }
        html = safety_html.bay_charts(status, view)
        assert 'data-points="' in html


def test_a_bays_history_stays_bounded_however_fast_the_readings_come() -> None:
    """A reading every 0.1 s for half an hour keeps about a window's worth of points (what /api/status carries)."""
    points: tuple[Point, ...] = ()
    for n in range(18_000):
        points = keep(points, Point(n / 10, 25.0, 52.0, 3.0))
    assert len(points) <= WINDOW_S / STEP_S + 2
    assert points[-1].at == 17_999 / 10
