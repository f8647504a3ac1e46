"""A station's log is append-only at the hub: attacks of a lying station over real HTTP on both engines."""

from __future__ import annotations

import pytest

from hub.fleet import gather
from hub.fleet_html import render_fleet
from hub.server import HubServer
from hub.storage import FlagKind, Storage
from hub.storage.append_only import SEQ_WINDOW
from kiosk.core.events import EventRecord
from tests.hub.support import T0, post_events, record, records


def at_seq(seq: int, n: int) -> EventRecord:
    """Event ``n`` of st-a with any seq (the helper's ids and times follow the seq, which cannot be this big)."""
    return record("st-a", n, boot="boot-far", wall=T0).model_copy(update={"seq": seq})


@pytest.fixture
def token(storage: Storage) -> str:
    """The token of station st-a."""
    return storage.add_station("st-a", name="甲", name_en="A")


def test_a_new_event_id_reusing_a_held_seq_is_refused_and_flagged(hub: HubServer, token: str, storage: Storage) -> None:
    post_events(hub.url, token, "st-a", records("st-a", range(1, 4)))
    forged = record("st-a", 2, boot="boot-forged", payload={"version": "rewritten"})
    answer = post_events(hub.url, token, "st-a", [forged]).json()
    assert answer["accepted"] == []
    assert answer["duplicates"] == []
    assert "append-only" in answer["refused"][forged.id]
    assert [e.record.id for e in storage.events("st-a")] == [record("st-a", s).id for s in (1, 2, 3)]
    [flag] = storage.flags(station_id="st-a")
    assert (flag.kind, flag.event_id) == (FlagKind.SEQ_REUSED, forged.id)


def test_a_known_id_resent_with_other_content_is_refused_and_flagged(
    hub: HubServer, token: str, storage: Storage
) -> None:
    first = record("st-a", 1, payload={"version": "1.0"})
    post_events(hub.url, token, "st-a", [first])
    changed = first.model_copy(update={"payload": {"version": "9.9"}})
    answer = post_events(hub.url, token, "st-a", [changed]).json()
    assert answer["duplicates"] == []
    assert "payload differ" in answer["refused"][first.id]
    assert storage.events("st-a")[0].record.payload == {"version": "1.0"}
    assert [f.kind for f in storage.flags(station_id="st-a")] == [FlagKind.PAYLOAD_CHANGED]


def test_the_same_event_resent_is_still_a_duplicate_and_not_flagged(
    hub: HubServer, token: str, storage: Storage
) -> None:
    events = records("st-a", range(1, 4))
    post_events(hub.url, token, "st-a", events)
    answer = post_events(hub.url, token, "st-a", events).json()
    assert answer["duplicates"] == [e.id for e in events]
    assert answer["refused"] == {}
    assert storage.flags() == []


def test_a_flag_is_recorded_once_however_often_the_event_is_resent(
    hub: HubServer, token: str, storage: Storage
) -> None:
    post_events(hub.url, token, "st-a", records("st-a", range(1, 3)))
    forged = record("st-a", 1, boot="boot-forged")
    for _ in range(3):
        post_events(hub.url, token, "st-a", [forged])
    assert len(storage.flags()) == 1


@pytest.mark.parametrize("seq", [2**63 - 1, 2**53, SEQ_WINDOW + 3])
def test_a_seq_far_beyond_the_high_water_is_refused_and_the_fleet_still_answers(
    hub: HubServer, token: str, storage: Storage, seq: int
) -> None:
    post_events(hub.url, token, "st-a", records("st-a", range(1, 3)))
    far = at_seq(seq, 90)
    answer = post_events(hub.url, token, "st-a", [far])
    assert answer.status_code == 200
    assert far.id in answer.json()["refused"]
    assert storage.event_count("st-a") == 2
    assert storage.gaps("st-a") == []
    assert [f.kind for f in storage.flags()] == [FlagKind.SEQ_OUT_OF_RANGE]
    view = gather(storage)  # what /fleet shows: its gap query overflowed on PostgreSQL with such a seq
    assert view.rows[0].flagged == 1
    assert "seq_out_of_range" in render_fleet(view)


def test_a_first_batch_may_start_high_but_not_spread_beyond_the_window(
    hub: HubServer, token: str, storage: Storage
) -> None:
    start = 5_000_000  # a station that ran for years before it was registered with this hub
    late, beyond = at_seq(start, 1), at_seq(start + SEQ_WINDOW + 1, 2)
    answer = post_events(hub.url, token, "st-a", [late, beyond]).json()
    assert answer["accepted"] == [late.id]
    assert list(answer["refused"]) == [beyond.id]
    assert answer["high_water_seq"] == start


def test_a_station_whose_events_are_all_refused_gets_an_answer(hub: HubServer, token: str, storage: Storage) -> None:
    answer = post_events(hub.url, token, "st-a", [at_seq(2**62, 1)])
    assert answer.status_code == 200
    assert answer.json()["accepted"] == []
    assert answer.json()["high_water_seq"] == 0
