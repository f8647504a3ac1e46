"""POST /v1/stations/{id}/events on both engines, over real HTTP: exactly once, gaps, auth, limits."""

from __future__ import annotations

import gzip
import json
import zlib
from datetime import UTC, datetime, timedelta

import pytest
import requests

from hub.anchoring import TimeState
from hub.server import HubServer
from hub.storage import Storage
from kiosk.sync.protocol import MAX_BODY_BYTES
from tests.hub.support import T0, batch_body, post_events, record, records


@pytest.fixture
def token(storage: Storage) -> str:
    """The token of station st-a."""
    return storage.add_station("st-a", name="甲站", name_en="Station A", latitude=31.23, longitude=121.47)


def test_a_batch_is_accepted_and_acknowledged_by_id(hub: HubServer, token: str, storage: Storage) -> None:
    events = records("st-a", range(1, 6))
    answer = post_events(hub.url, token, "st-a", events)
    assert answer.status_code == 200
    assert answer.json() == {
        "accepted": [e.id for e in events],
        "duplicates": [],
        "high_water_seq": 5,
        "refused": {},
    }
    assert storage.event_count("st-a") == 5


def test_the_same_batch_twice_is_stored_once_and_acknowledged_both_times(
    hub: HubServer, token: str, storage: Storage
) -> None:
    events = records("st-a", range(1, 4))
    post_events(hub.url, token, "st-a", events)
    again = post_events(hub.url, token, "st-a", events).json()
    assert again["accepted"] == []
    assert again["duplicates"] == [e.id for e in events]
    assert storage.event_count("st-a") == 3


def test_overlapping_batches_accept_only_the_new_events(hub: HubServer, token: str, storage: Storage) -> None:
    post_events(hub.url, token, "st-a", records("st-a", range(1, 4)))
    answer = post_events(hub.url, token, "st-a", records("st-a", range(2, 7))).json()
    assert answer["duplicates"] == [record("st-a", s).id for s in (2, 3)]
    assert answer["accepted"] == [record("st-a", s).id for s in (4, 5, 6)]
    assert answer["high_water_seq"] == 6
    assert storage.event_count("st-a") == 6


def test_an_uncompressed_batch_is_accepted_too(hub: HubServer, token: str) -> None:
    assert post_events(hub.url, token, "st-a", records("st-a", [1]), compress=False).status_code == 200


def test_a_gap_holds_the_high_water_mark_and_is_shown(hub: HubServer, token: str, storage: Storage) -> None:
    answer = post_events(hub.url, token, "st-a", records("st-a", [1, 2, 3, 6, 7])).json()
    assert answer["high_water_seq"] == 3
    gaps = storage.gaps("st-a")
    assert [(g.first, g.last) for g in gaps] == [(4, 5)]


def test_filling_a_gap_moves_the_high_water_mark_over_everything_contiguous(hub: HubServer, token: str) -> None:
    post_events(hub.url, token, "st-a", records("st-a", [1, 2, 5, 6]))
    answer = post_events(hub.url, token, "st-a", records("st-a", [3, 4])).json()
    assert answer["high_water_seq"] == 6


def test_the_high_water_mark_counts_from_the_first_seq_the_hub_received(
    hub: HubServer, token: str, storage: Storage
) -> None:
    # The station pruned seq 1..999 before it was registered with this hub: no gap below 1000.
    answer = post_events(hub.url, token, "st-a", records("st-a", range(1000, 1004))).json()
    assert answer["high_water_seq"] == 1003
    assert storage.gaps("st-a") == []


def test_a_missing_token_is_401(hub: HubServer, token: str) -> None:
    answer = requests.post(
        f"{hub.url}/v1/stations/st-a/events", data=batch_body("st-a", records("st-a", [1])), timeout=10
    )
    assert answer.status_code == 401
    assert "token" in answer.json()["error"]


def test_a_wrong_token_is_401(hub: HubServer, token: str, storage: Storage) -> None:
    answer = post_events(hub.url, token[:-2] + "xx", "st-a", records("st-a", [1]))
    assert answer.status_code == 401
    assert storage.event_count() == 0


def test_a_replaced_token_no_longer_works(hub: HubServer, token: str, storage: Storage) -> None:
    storage.new_station_token("st-a")
    assert post_events(hub.url, token, "st-a", records("st-a", [1])).status_code == 401


def test_the_token_of_another_station_is_403(hub: HubServer, token: str, storage: Storage) -> None:
    storage.add_station("st-b", name="乙站", name_en="Station B")
    answer = post_events(hub.url, token, "st-b", records("st-b", [1]))
    assert answer.status_code == 403
    assert storage.event_count() == 0


def test_a_batch_naming_another_station_is_422(hub: HubServer, token: str, storage: Storage) -> None:
    answer = post_events(hub.url, token, "st-a", records("st-b", [1]))
    assert answer.status_code == 422
    assert "st-b" in answer.json()["error"]


def test_a_malformed_batch_is_422_with_a_plain_reason(hub: HubServer, token: str) -> None:
    body = json.dumps({"station_id": "st-a", "events": [{"id": "x"}]}).encode()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    answer = requests.post(f"{hub.url}/v1/stations/st-a/events", data=body, headers=headers, timeout=10)
    assert answer.status_code == 422
    assert answer.json()["error"].startswith("invalid request: events.0")


def test_a_body_that_is_not_json_is_422(hub: HubServer, token: str) -> None:
    answer = requests.post(
        f"{hub.url}/v1/stations/st-a/events",
        data=b"{not json",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        timeout=10,
    )
    assert answer.status_code == 422


def test_a_body_over_the_cap_is_413(hub: HubServer, token: str) -> None:
    answer = requests.post(
        f"{hub.url}/v1/stations/st-a/events",
        data=b" " * (MAX_BODY_BYTES + 1),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        timeout=30,
    )
    assert answer.status_code == 413


def test_a_gzip_bomb_is_413(hub: HubServer, token: str) -> None:
    bomb = gzip.compress(b" " * (MAX_BODY_BYTES * 4), compresslevel=9)
    assert len(bomb) < 100_000  # small on the wire, 32 MiB unpacked
    answer = requests.post(
        f"{hub.url}/v1/stations/st-a/events",
        data=bomb,
        headers={"Authorization": f"Bearer {token}", "Content-Encoding": "gzip", "Content-Type": "application/json"},
        timeout=30,
    )
    assert answer.status_code == 413
    assert "unpacks" in answer.json()["error"]


def test_broken_gzip_is_400(hub: HubServer, token: str) -> None:
    answer = requests.post(
        f"{hub.url}/v1/stations/st-a/events",
        data=zlib.compress(b"{}"),  # zlib, not gzip
        headers={"Authorization": f"Bearer {token}", "Content-Encoding": "gzip"},
        timeout=10,
    )
    assert answer.status_code == 400


def test_an_unknown_content_encoding_is_415(hub: HubServer, token: str) -> None:
    answer = requests.post(
        f"{hub.url}/v1/stations/st-a/events",
        data=b"{}",
        headers={"Authorization": f"Bearer {token}", "Content-Encoding": "br"},
        timeout=10,
    )
    assert answer.status_code == 415


def test_events_before_the_clock_synced_are_re_anchored_when_the_anchor_arrives(
    hub: HubServer, token: str, storage: Storage
) -> None:
    wrong = datetime(1970, 1, 1, tzinfo=UTC)
    post_events(hub.url, token, "st-a", [record("st-a", 1, mono=10.0, wall=wrong, synced=False)])
    first = storage.events("st-a")[0]
    assert (first.corrected, first.time_state) == (wrong, TimeState.UNANCHORED)
    post_events(hub.url, token, "st-a", [record("st-a", 2, mono=70.0, wall=T0, synced=True)])
    placed = storage.events("st-a")[0]
    assert placed.corrected == T0 - timedelta(minutes=1)
    assert placed.time_state is TimeState.ANCHORED
    assert placed.record.wall == wrong  # the raw time is kept too


def test_health_answers(hub: HubServer, storage: Storage) -> None:
    answer = requests.get(f"{hub.url}/v1/health", timeout=10).json()
    assert answer["status"] == "ok"
    assert answer["storage"] == storage.db.engine.value
