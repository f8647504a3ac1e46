"""The storage layer itself: migrations, and exactly-once ingest under concurrent requests."""

from __future__ import annotations

import threading

from hub.storage import Storage, open_storage
from hub.storage.migrations import LATEST_VERSION, schema_version
from kiosk.core.clock import FakeClock
from tests.hub.support import records


def test_opening_a_migrated_database_again_changes_nothing(db_target: str) -> None:
    first = open_storage(db_target)
    first.add_station("st-a", name="甲", name_en="A")
    first.close()
    again = open_storage(db_target)
    assert schema_version(again.db) == LATEST_VERSION
    assert [s.id for s in again.stations()] == ["st-a"]
    again.close()


def test_the_same_events_posted_concurrently_are_accepted_exactly_once(storage: Storage) -> None:
    storage.add_station("st-a", name="甲", name_en="A")
    batches = [records("st-a", range(1 + k * 50, 301)) for k in range(6)]
    accepted: list[str] = []
    lock = threading.Lock()

    def send(events: list) -> None:  # type: ignore[type-arg]
        result = storage.ingest("st-a", events)
        with lock:
            accepted.extend(result.accepted)

    threads = [threading.Thread(target=send, args=(b,)) for b in batches]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(accepted) == sorted(e.id for e in batches[0])
    assert storage.event_count("st-a") == 300
    assert storage.station("st-a").high_water_seq == 300


def test_a_station_token_is_stored_only_as_a_hash(storage: Storage) -> None:
    token = storage.add_station("st-a", name="甲", name_en="A")
    with storage.db.transaction(write=False) as tx:
        rows = tx.execute("SELECT token_hash FROM stations")
    assert token not in rows[0][0]
    assert len(rows[0][0]) == 64


def test_keys_stay_in_order_past_nine_rotations(db_target: str) -> None:
    store = open_storage(db_target, clock=FakeClock())
    for _ in range(11):
        store.rotate_key()
    assert store.signing_key().kid == "k11"
    store.close()
