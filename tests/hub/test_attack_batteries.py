"""Attacks on what the hub learns of battery packs, as a malicious station with a valid token would make them.

Each test plays the attack against the real hub on loopback (SQLite and PostgreSQL) and asserts the refusal:
the hub answers 4xx, never 500; it computes what it can from the samples, bounds what it stores, and a
station cannot take a worn or hot pack off the due list by claiming it is fine.
"""

from __future__ import annotations

import gzip
import json
import time
from datetime import UTC, datetime
from typing import Any

import pytest
import requests

from hub.fleet import gather
from hub.server import HubServer
from hub.storage import Storage
from hub.storage.pack_ingest import MAX_NEW_PACKS_PER_BATCH, MAX_NEW_PACKS_PER_STATION_DAY
from kiosk.core.clock import FakeClock
from tests.hub.support import batch_body, post_events, record

PACK = "SH0000101"


@pytest.fixture
def token(storage: Storage) -> str:
    """The token of station st-a (st-b is registered too, as the other station)."""
    storage.add_station("st-b", name="乙", name_en="B")
    return storage.add_station("st-a", name="甲", name_en="A")


def readings(seq: int, packs: list[dict[str, Any]], **kw: Any) -> Any:
    return record("st-a", seq, type_="battery.readings", payload={"period_s": 600.0, "packs": packs}, **kw)


def post_raw(hub: HubServer, token: str, body: bytes) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json", "Content-Encoding": "gzip"}
    return requests.post(f"{hub.url}/v1/stations/st-a/events", data=gzip.compress(body), headers=headers, timeout=60)


def with_literal(placeholder_payload: dict[str, Any], literal: str) -> bytes:
    """A batch of one battery.readings event whose number ``"X"`` is replaced by ``literal`` verbatim."""
    body = batch_body("st-a", [readings(1, [placeholder_payload])])
    return body.replace(b'"X"', literal.encode())


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e999", "-1e999"])
@pytest.mark.parametrize("field", ["soh_pct", "cycles", "temperatures_c"])
def test_non_finite_numbers_are_refused_not_stored(
    hub: HubServer, token: str, storage: Storage, literal: str, field: str
) -> None:
    pack: dict[str, Any] = {"battery_id": PACK, "bay": 1, field: ["X"] if field == "temperatures_c" else "X"}
    answer = post_raw(hub, token, with_literal(pack, literal))
    assert answer.status_code == 422, answer.text
    assert "not a finite number" in answer.json()["error"]
    assert storage.event_count("st-a") == 0
    assert storage.packs_seen() == []


@pytest.mark.parametrize("value", [1e308, -1e308, -1.0, 101.0, 5e-324])
def test_absurd_finite_numbers_are_stored_but_never_believed(
    hub: HubServer, token: str, storage: Storage, value: float
) -> None:
    pack = {"battery_id": PACK, "bay": 1, "soh_pct": value, "cycles": value, "temperatures_c": [value, 25.0]}
    answer = post_events(hub.url, token, "st-a", [readings(1, [pack])])
    assert answer.status_code == 200, answer.text
    (seen,) = storage.packs_seen()
    believable = -80 <= value <= 1000
    assert seen.max_temp_c == (max(value, 25.0) if believable else 25.0)  # an absurd sample is dropped
    if not 0 <= value <= 100:
        assert seen.soh_pct is None
    if value < 0 or value > 1_000_000 or value != int(value):
        assert seen.cycles is None
    page = requests.get(f"{hub.url}/fleet", auth=None, timeout=30)
    assert page.status_code != 500


def test_huge_arrays_are_read_only_up_to_their_bounds(hub: HubServer, token: str, storage: Storage) -> None:
    # 64 packs an event are read; a million temperature samples of one pack are cut at 120 before any work.
    hot = [20.0] * 200 + [99.0]  # the sample past the bound is not seen
    packs = [{"battery_id": f"SH{n:07d}", "bay": 1, "temperatures_c": hot} for n in range(70)]
    mega = {"battery_id": "SH9999999", "bay": 1, "temperatures_c": [21.0] * 500_000}
    answer = post_events(hub.url, token, "st-a", [readings(1, packs), readings(2, [mega])])
    assert answer.status_code == 200, answer.text
    seen = storage.packs_seen()
    assert len(seen) == 65
    assert {s.max_temp_c for s in seen} == {20.0, 21.0}


@pytest.mark.parametrize(
    "pack_id",
    ["A" * 33, "A" * 100_000, "<script>alert(1)</script>", "SH 0001", "-SH0001", "中文电池", "S", "SH\u202e0001"],
)
def test_odd_battery_ids_are_never_kept(hub: HubServer, token: str, storage: Storage, pack_id: str) -> None:
    answer = post_events(hub.url, token, "st-a", [readings(1, [{"battery_id": pack_id, "bay": 1}])])
    assert answer.status_code in (200, 422), answer.text
    assert storage.packs_seen() == []


@pytest.mark.parametrize("text", ["SH\\u0000001", "SH\\ud800001", "\\udfff"])
def test_nul_and_lone_surrogates_in_a_battery_id_are_a_422(
    hub: HubServer, token: str, storage: Storage, text: str
) -> None:
    body = batch_body("st-a", [readings(1, [{"battery_id": "PLACEHOLDER", "bay": 1}])])
    answer = post_raw(hub, token, body.replace(b"PLACEHOLDER", text.encode()))
    assert answer.status_code == 422
    assert storage.packs_seen() == []


def test_a_station_cannot_hide_a_worn_pack_by_claiming_it_is_fine(hub: HubServer, token: str, storage: Storage) -> None:
    """Another station reported the pack worn and hot; st-a says it is new. It stays due, and the list names who."""
    b_token = storage.add_station("st-c", name="丙", name_en="C")
    worn = {"battery_id": PACK, "bay": 2, "soh_pct": 61.0, "cycles": 1450, "temperatures_c": [66.0]}
    c_event = record("st-c", 1, type_="battery.readings", payload={"period_s": 600.0, "packs": [worn]})
    assert post_events(hub.url, b_token, "st-c", [c_event]).status_code == 200
    fine = {"battery_id": PACK, "bay": 1, "soh_pct": 100.0, "cycles": 0, "temperatures_c": [20.0]}
    later = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
    assert post_events(hub.url, token, "st-a", [readings(1, [fine], wall=later)]).status_code == 200
    (seen,) = storage.packs_seen()
    assert seen.soh_pct == 61.0
    assert seen.cycles == 1450
    assert seen.max_temp_c == 66.0
    (due,) = gather(storage).due
    assert any("61" in r for r in due.reasons)
    assert any("1450 cycles" in r for r in due.reasons)


def test_a_reading_from_the_future_is_placed_at_the_hubs_time(
    hub: HubServer, token: str, storage: Storage, hub_clock: FakeClock
) -> None:
    """A station claiming a synced clock in 2099 cannot pin a pack's 'last seen' there (or win every later reading)."""
    future = datetime(2099, 1, 1, tzinfo=UTC)
    pack = {"battery_id": PACK, "bay": 1, "soh_pct": 90.0, "temperatures_c": [20.0]}
    assert post_events(hub.url, token, "st-a", [readings(1, [pack], wall=future)]).status_code == 200
    (seen,) = storage.packs_seen()
    assert seen.last_seen <= hub_clock.wall()
    assert storage.battery_history(PACK)[0].at <= hub_clock.wall()


def test_a_flood_of_new_pack_ids_is_bounded_per_batch(hub: HubServer, token: str, storage: Storage) -> None:
    """2,500 events of 64 never-seen ids each (160,000 packs, near 8 MiB) in one batch: a bounded number is kept."""
    events = [
        readings(seq, [{"battery_id": f"F{seq:05d}{n:03d}", "bay": 1} for n in range(64)]) for seq in range(1, 2501)
    ]
    started = time.monotonic()
    answer = post_events(hub.url, token, "st-a", events)
    elapsed = time.monotonic() - started
    assert answer.status_code == 200, answer.text
    assert len(answer.json()["accepted"]) == 2500  # the events themselves are kept: the log is the log
    assert len(storage.packs_seen()) == MAX_NEW_PACKS_PER_BATCH
    assert elapsed < 60
    flags = storage.flags(limit=10)
    assert any("never-seen pack id(s) not in the registry were left out" in f.detail for f in flags)


def test_a_flood_of_new_pack_ids_is_bounded_per_station_and_day(
    hub: HubServer, token: str, storage: Storage, hub_clock: FakeClock
) -> None:
    """Batch after batch of new ids: past the day's bound a station adds no pack; the next day it may again."""
    per_batch = MAX_NEW_PACKS_PER_BATCH
    batches = MAX_NEW_PACKS_PER_STATION_DAY // per_batch + 2
    seq = 0
    for b in range(batches):
        events = []
        for e in range(per_batch // 64):
            seq += 1
            ids = [f"D{b:03d}{e:03d}{n:03d}" for n in range(64)]
            events.append(readings(seq, [{"battery_id": i, "bay": 1} for i in ids]))
        assert post_events(hub.url, token, "st-a", events).status_code == 200
    assert len(storage.packs_seen()) == MAX_NEW_PACKS_PER_STATION_DAY
    # Known packs are still updated past the bound: a real cabinet's packs keep reporting.
    known = storage.packs_seen()[0].battery_id
    seq += 1
    hot = readings(seq, [{"battery_id": known, "bay": 1, "temperatures_c": [70.0]}])
    assert post_events(hub.url, token, "st-a", [hot]).status_code == 200
    assert next(s for s in storage.packs_seen() if s.battery_id == known).max_temp_c == 70.0
    hub_clock.advance(25 * 3600)
    seq += 1
    fresh = readings(seq, [{"battery_id": "NEWDAY0001", "bay": 1}], wall=hub_clock.wall())
    assert post_events(hub.url, token, "st-a", [fresh]).status_code == 200
    assert "NEWDAY0001" in {s.battery_id for s in storage.packs_seen()}


def test_markup_in_a_registered_model_is_shown_as_text_on_the_fleet_page(
    hub: HubServer, token: str, storage: Storage
) -> None:
    """The registry's names are checked on load; and the page escapes what it shows anyway."""
    from hub.batteries import PackRecord
    from hub.fleet_html import render_fleet

    storage.load_batteries([PackRecord(PACK, "TL&<b>", "nmc-13s", datetime(2025, 1, 1).date())])
    pack = {"battery_id": PACK, "bay": 1, "soh_pct": 50.0}
    assert post_events(hub.url, token, "st-a", [readings(1, [pack])]).status_code == 200
    page = render_fleet(gather(storage))
    assert "TL&amp;&lt;b&gt;" in page
    assert "<b>" not in page.split('id="due"')[1]


def test_the_due_list_of_tens_of_thousands_of_packs_is_bounded(storage: Storage) -> None:
    """60,000 worn packs seen: the fleet view lists the first ones and counts the rest, without loading them all."""
    rows = [(f"W{n:07d}", 0, 0, "st-a", 50.0, 0, 10, 0, 30.0, 0) for n in range(60_000)]
    with storage.db.transaction() as tx:
        tx.executemany(
            "INSERT INTO packs_seen (battery_id, first_seen_ms, last_seen_ms, last_station, soh_pct, soh_ms,"
            " cycles, cycles_ms, max_temp_c, max_temp_ms, readings) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)",
            rows,
        )
    started = time.monotonic()
    view = gather(storage)
    elapsed = time.monotonic() - started
    assert view.due_count == 60_000
    assert len(view.due) <= 1000
    assert view.due[0].battery_id == "W0000000"
    assert elapsed < 30  # a bound against loading everything, not a speed target


def test_the_events_endpoint_never_answers_500_to_odd_battery_payloads(
    hub: HubServer, token: str, storage: Storage
) -> None:
    odd: list[Any] = [
        {"packs": "not a list"},
        {"packs": [1, "x", None, [], {"battery_id": 5}]},
        {"packs": [{"battery_id": PACK, "temperatures_c": {"a": 1}}]},
        {"packs": [{"battery_id": PACK, "temperatures_c": [True, "70", None, [99]]}]},
        {"packs": [{"battery_id": PACK, "soh_pct": True, "cycles": "1e9"}]},
        {},
    ]
    events = [record("st-a", n, type_="battery.readings", payload=p) for n, p in enumerate(odd, start=1)]
    events.append(record("st-a", 10, type_="battery.refused", payload={"battery_id": [PACK], "temperature_c": "hot"}))
    events.append(record("st-a", 11, type_="swap.battery_returned", payload={"battery_id": PACK, "soh_pct": 1e300}))
    answer = post_events(hub.url, token, "st-a", events)
    assert answer.status_code == 200, answer.text
    assert [s.battery_id for s in storage.packs_seen()] == [PACK]
    assert storage.packs_seen()[0].max_temp_c is None
    assert json.loads(json.dumps(answer.json()))  # a plain JSON answer


@pytest.mark.parametrize("field", ["mono", "uptime_s"])
def test_a_heartbeat_with_a_non_finite_number_is_refused_and_the_fleet_page_stays_up(
    hub: HubServer, token: str, storage: Storage, field: str
) -> None:
    from tests.hub.support import heartbeat

    body = heartbeat("st-a")
    body[field] = "X"
    raw = json.dumps(body).replace('"X"', "NaN").encode()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    answer = requests.post(f"{hub.url}/v1/stations/st-a/heartbeat", data=raw, headers=headers, timeout=10)
    assert answer.status_code == 422
    assert f"the heartbeat's {field} is not a finite number" in answer.json()["error"]
    assert requests.get(f"{hub.url}/fleet", timeout=10).status_code != 500
    assert gather(storage).rows  # the fleet view still reads every station's heartbeat
