"""Goods bays on the status page: their item and stock on the Devices page, and staff restocking them.

The drawing is a pure function of the status (tested directly); the action is tested over real HTTP
against a running station, with the station's restock replaced by a recorder where the test is about
the web layer (the form, CSRF, the audit record), and with the real rider desk where it is about the stock.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from kiosk.api.web import render
from kiosk.api.web.routes import parse_stock
from kiosk.core.events import Event
from tests.web.conftest import STAFF, WebStation, csrf_of, sign_in

GOODS_STATUS: dict[str, Any] = {
    "components": {
        "cabinet": {
            "bays": {
                "1": {"door": "closed", "lock": "locked", "battery": {"present": True, "battery_id": "SH1234567"}},
                "9": {"door": "closed", "lock": "locked", "battery": {"present": False}},
            }
        },
        "station": {"out_of_service": {}},
        "rider": {"goods": {"9": {"item_id": "water", "count": 4}}},
    }
}


def view(*, can_restock: bool = True) -> render.View:
    return render.View(user=STAFF, csrf="token-123", path="/devices", now_mono=0.0, can_restock=can_restock)


# --- drawing ------------------------------------------------------------------------------------------


def test_the_devices_page_lists_each_goods_bay_with_its_item_and_stock() -> None:
    html = render.goods_table(GOODS_STATUS, view())
    assert '<tr id="goods-9" data-bay="9">' in html
    assert '<td data-field="item">water</td>' in html
    assert '<td data-field="count" class="">4</td>' in html


def test_each_goods_bay_has_a_restock_form_with_the_csrf_token_and_the_current_count() -> None:
    html = render.goods_table(GOODS_STATUS, view())
    assert 'action="/actions/bays/9/restock"' in html
    assert 'name="csrf" value="token-123"' in html
    assert 'name="count" type="number" min="0" max="999" value="4"' in html


def test_there_is_no_restock_form_when_the_station_cannot_restock() -> None:
    assert "/restock" not in render.goods_table(GOODS_STATUS, view(can_restock=False))


def test_an_empty_goods_bay_stands_out() -> None:
    empty = {"components": {"rider": {"goods": {"9": {"item_id": "water", "count": 0}}}}}
    assert '<td data-field="count" class="bad">0</td>' in render.goods_table(empty, view())


def test_a_goods_bay_shows_its_goods_in_the_bay_table_instead_of_a_battery_or_a_service_switch() -> None:
    html = render.bay_rows(GOODS_STATUS, view())
    row = html[html.index('id="bay-9"') :]
    assert "goods: <b>water</b> (4 left)" in row
    assert "out-of-service" not in row
    assert "SH1234567" in html[: html.index('id="bay-9"')]  # the battery bay is drawn as before


def test_without_goods_bays_the_page_says_so() -> None:
    html = render.goods_table({"components": {}}, view())
    assert "No goods bays" in html


@pytest.mark.parametrize("text", ["-1", "many", "", "1000", "2.5", "²"])
def test_a_stock_that_is_not_a_whole_number_up_to_999_is_refused_plainly(text: str) -> None:
    with pytest.raises(ValueError, match="whole number from 0 to 999"):
        parse_stock(text)


@pytest.mark.parametrize(("text", "count"), [("0", 0), (" 12 ", 12), ("999", 999)])
def test_a_stock_from_0_to_999_is_taken(text: str, count: int) -> None:
    assert parse_stock(text) == count


# --- the action over HTTP, with a recorder in place of the station's restock --------------------------------


class RestockRecorder:
    """Stands in for ``RiderDesk.restock``: keeps the calls and records the audit event as the desk does."""

    def __init__(self, web: WebStation) -> None:
        self.web = web
        self.calls: list[tuple[int, int, Event | None]] = []

    def __call__(self, bay: int, count: int, audit: Event | None) -> None:
        if bay != 9:
            raise ValueError(f"bay {bay} is not a goods bay")
        self.calls.append((bay, count, audit))
        if audit is not None:
            self.web.station.store.append(audit)


@pytest.fixture
def recorder(web: WebStation) -> Iterator[RestockRecorder]:
    ctx = web.station.api.ctx
    wired, recorder = ctx.restock, RestockRecorder(web)
    ctx.restock = recorder
    yield recorder
    ctx.restock = wired


def test_restocking_hands_the_bay_count_and_an_audit_event_naming_who_to_the_station(
    web: WebStation, recorder: RestockRecorder
) -> None:
    session, _ = sign_in(web.url)
    data = {"count": "6", "csrf": csrf_of(session, web.url), "back": "/devices"}
    answer = session.post(f"{web.url}/actions/bays/9/restock", data=data, timeout=5)
    assert answer.url.endswith("/devices")
    assert "Bay 9 restocked: it holds 6 now." in answer.text
    [(bay, count, audit)] = recorder.calls
    assert (bay, count) == (9, 6)
    assert audit is not None
    assert audit.payload()["user"] == STAFF


def test_a_restock_is_audited_once_with_the_new_count(web: WebStation, recorder: RestockRecorder) -> None:
    session, _ = sign_in(web.url)
    session.post(f"{web.url}/actions/bays/9/restock", data={"count": "3", "csrf": csrf_of(session, web.url)}, timeout=5)
    restocks = [a for a in web.staff_actions() if a["action"] == "restock"]
    assert restocks == [{"user": STAFF, "action": "restock", "bay": 9, "detail": "count 3", "ok": True, "error": None}]


def test_a_restock_without_the_csrf_token_is_refused_and_not_done(web: WebStation, recorder: RestockRecorder) -> None:
    session, _ = sign_in(web.url)
    answer = session.post(f"{web.url}/actions/bays/9/restock", data={"count": "3"}, timeout=5)
    assert answer.status_code == 403
    assert recorder.calls == []


def test_a_restock_with_a_bad_count_is_refused_audited_as_failed_and_not_done(
    web: WebStation, recorder: RestockRecorder
) -> None:
    session, _ = sign_in(web.url)
    data = {"count": "lots", "csrf": csrf_of(session, web.url)}
    answer = session.post(f"{web.url}/actions/bays/9/restock", data=data, timeout=5)
    assert "That did not work: the stock must be a whole number from 0 to 999" in answer.text
    assert recorder.calls == []
    last = web.staff_actions()[-1]
    assert (last["action"], last["bay"], last["ok"]) == ("restock", 9, False)


def test_restocking_a_bay_that_holds_no_goods_is_refused_with_the_stations_reason(
    web: WebStation, recorder: RestockRecorder
) -> None:
    session, _ = sign_in(web.url)
    answer = session.post(
        f"{web.url}/actions/bays/3/restock", data={"count": "2", "csrf": csrf_of(session, web.url)}, timeout=5
    )
    assert "That did not work: bay 3 is not a goods bay" in answer.text
    last = web.staff_actions()[-1]
    assert (last["action"], last["ok"], last["error"]) == ("restock", False, "bay 3 is not a goods bay")


def test_a_station_without_a_restock_says_it_has_no_goods_bays(web: WebStation) -> None:
    web.station.api.ctx.restock = None
    session, _ = sign_in(web.url)
    answer = session.post(
        f"{web.url}/actions/bays/9/restock", data={"count": "2", "csrf": csrf_of(session, web.url)}, timeout=5
    )
    assert "That did not work: this station has no goods bays to restock" in answer.text


# --- the action over HTTP, with the station's own rider desk ------------------------------------------------


def goods_of(web: WebStation) -> dict[str, Any]:
    """The goods bays as ``/api/status`` reports them."""
    return dict(web.tech.status()["components"]["rider"]["goods"])


def test_the_devices_page_shows_the_stations_goods_bays(web: WebStation) -> None:
    session, _ = sign_in(web.url)
    page = session.get(f"{web.url}/devices", timeout=5).text
    assert '<tr id="goods-9" data-bay="9"><th>9</th><td data-field="item">water</td>' in page
    assert '<tr id="goods-10" data-bay="10"><th>10</th><td data-field="item">snack</td>' in page
    assert 'data-test="restock-9"' in page


def test_restocking_sets_the_goods_bays_stock_and_the_page_shows_it(web: WebStation) -> None:
    session, _ = sign_in(web.url)
    data = {"count": "7", "csrf": csrf_of(session, web.url), "back": "/devices"}
    page = session.post(f"{web.url}/actions/bays/10/restock", data=data, timeout=5).text
    assert goods_of(web)["10"] == {"item_id": "snack", "count": 7}
    assert '<td data-field="count" class="">7</td>' in page


def test_the_stations_restock_writes_the_audit_record_once(web: WebStation) -> None:
    session, _ = sign_in(web.url)
    session.post(f"{web.url}/actions/bays/9/restock", data={"count": "4", "csrf": csrf_of(session, web.url)}, timeout=5)
    restocks = [a for a in web.staff_actions() if a["action"] == "restock"]
    assert restocks == [{"user": STAFF, "action": "restock", "bay": 9, "detail": "count 4", "ok": True, "error": None}]


def test_the_stations_restock_refuses_a_battery_bay_and_changes_nothing(web: WebStation) -> None:
    session, _ = sign_in(web.url)
    before = goods_of(web)
    answer = session.post(
        f"{web.url}/actions/bays/2/restock", data={"count": "4", "csrf": csrf_of(session, web.url)}, timeout=5
    )
    assert "That did not work: bay 2 is not a goods bay" in answer.text
    assert goods_of(web) == before
