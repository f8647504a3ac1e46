"""The store's named statements on the station's tables: each does what its flow relies on, on a real file.

The flows (swap and entry controller, rider desk, goods, time keeper, sync relay) call these and nothing
else; their own tests drive them end to end. Here each statement is checked on its own: what it writes,
what it reads back, the edge the flow counts on (a count never below zero, a nonce used once, a swap's
start time kept), and that a write inside a transaction goes with that transaction's event or not at all.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kiosk.core.clock import FakeClock
from kiosk.core.errors import StoreError
from kiosk.core.events import StationStarted
from kiosk.store import Store, bookings, goods, ledger, nonces, out_of_service, settings, swaps, timemark
from kiosk.store.component import StoreComponent

STATION = "sh-test-001"
WALL = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path, fake_clock: FakeClock) -> Iterator[Store]:
    s = Store.open(tmp_path / "kiosk.db", station_id=STATION, clock=fake_clock, boot_id="boot-1")
    yield s
    s.close()


def _earn(store: Store, entry_id: str, *, rider: str = "R1", points: int = 5, day: str = "2026-03-01") -> int:
    with store.transaction() as tx:
        seq = tx.append(StationStarted(version="t", warnings=[])).seq
        ledger.add(
            tx, entry_id=entry_id, rider_id=rider, kind="earned", points=points, seq=seq, wall=WALL, day=day, rule="r"
        )
    return seq


# --- ledger ------------------------------------------------------------------------------------------


def test_ledger_rows_read_back_in_seq_order_with_their_sync_and_cancel_marks(store: Store) -> None:
    first = _earn(store, "e1")
    with store.transaction() as tx:
        seq = tx.append(StationStarted(version="t", warnings=[])).seq
        ledger.add(
            tx, entry_id="s1", rider_id="R1", kind="spent", points=3, seq=seq, wall=WALL, day="d", item_id="tea", bay=7
        )
        seq = tx.append(StationStarted(version="t", warnings=[])).seq
        ledger.add(tx, entry_id="c1", rider_id="R1", kind="cancelled", points=3, seq=seq, wall=WALL, day="d", ref="s1")
    _earn(store, "other", rider="R2")
    store.mark_synced([store.events(since_seq=first - 1, limit=1)[0].id], WALL)

    rows = ledger.entries(store, STATION, "R1")

    assert [(r.entry_id, r.kind, r.points, r.synced, r.cancelled) for r in rows] == [
        ("e1", "earned", 5, True, False),
        ("s1", "spent", 3, False, True),
        ("c1", "cancelled", 3, False, False),
    ]
    assert (rows[0].wall, rows[0].seq) == (WALL, first)


def test_a_ledger_row_whose_event_was_pruned_counts_as_synced(store: Store, fake_clock: FakeClock) -> None:
    _earn(store, "e1")
    store.mark_synced([e.id for e in store.events()], fake_clock.wall())
    fake_clock.advance(10)
    assert store.prune_synced(timedelta(seconds=1)) == 1
    assert [r.synced for r in ledger.entries(store, STATION, "R1")] == [True]


def test_earned_today_counts_one_rule_on_one_day(store: Store) -> None:
    _earn(store, "e1")
    _earn(store, "e2")
    _earn(store, "e3", day="2026-03-02")
    assert ledger.earned_today(store, "R1", "r", "2026-03-01") == 2
    assert ledger.earned_today(store, "R1", "other-rule", "2026-03-01") == 0


def test_one_check_in_per_rider_and_day(store: Store) -> None:
    assert not ledger.checked_in(store, "R1", "2026-03-01")
    with store.transaction() as tx:
        ledger.check_in(tx, entry_id="e1", rider_id="R1", day="2026-03-01")
    assert ledger.checked_in(store, "R1", "2026-03-01")
    assert not ledger.checked_in(store, "R1", "2026-03-02")
    with pytest.raises(Exception, match="UNIQUE"), store.transaction() as tx:
        ledger.check_in(tx, entry_id="e2", rider_id="R1", day="2026-03-01")


def test_shown_corrections_are_remembered(store: Store) -> None:
    assert ledger.shown_corrections(store, []) == set()
    with store.transaction() as tx:
        ledger.mark_shown(tx, ["x1", "x2"], WALL)
        ledger.mark_shown(tx, ["x1"], WALL + timedelta(hours=1))  # shown again: still one row
    assert ledger.shown_corrections(store, ["x1", "x3"]) == {"x1"}
    assert store.db.execute("SELECT count(*) FROM shown_corrections").fetchone()[0] == 2


# --- goods, bookings ---------------------------------------------------------------------------------


def test_goods_stock_is_set_and_changed_never_below_zero(store: Store) -> None:
    with store.transaction() as tx:
        goods.restock(tx, 7, "tea", 2, WALL)
        goods.restock(tx, 8, "water", 1, WALL)
        goods.restock(tx, 8, "soap", 4, WALL)  # restocked with something else
        goods.change(tx, 7, -1, WALL)
        goods.change(tx, 9, -1, WALL)  # a bay never stocked stays unstocked
    assert goods.stock(store) == {7: ("tea", 1), 8: ("soap", 4)}
    with store.transaction() as tx:
        goods.change(tx, 7, -5, WALL)
    assert goods.stock(store)[7] == ("tea", 0)


def test_bookings_take_the_hubs_word_and_count_only_changes(store: Store) -> None:
    starts = WALL + timedelta(days=1)
    with store.transaction() as tx:
        bookings.add(tx, booking_id="b1", rider_id="R1", service_id="s", slot_id="t", starts=starts, wall=WALL)
        bookings.add(tx, booking_id="b2", rider_id="R1", service_id="s", slot_id="u", starts=None, wall=WALL)
    assert [b["status"] for b in bookings.of_rider(store, "R1")] == ["requested", "requested"]

    confirmed = bookings.Booking("b1", "R1", "s", "t", starts, "confirmed", "gate 2")
    unchanged = bookings.Booking("b2", "R1", "s", "u", None, "requested", "")
    elsewhere = bookings.Booking("b9", "R1", "s", "v", None, "declined", "full")
    with store.transaction() as tx:
        assert bookings.update(tx, [confirmed, unchanged, elsewhere], WALL + timedelta(minutes=5)) == 2
    rows = bookings.of_rider(store, "R1")
    assert rows[0]["booking_id"] in {"b1", "b9"}  # newest first: the two the hub changed
    assert {r["booking_id"]: (r["status"], r["note"]) for r in rows} == {
        "b1": ("confirmed", "gate 2"),
        "b2": ("requested", ""),
        "b9": ("declined", "full"),
    }
    assert rows[-1]["booking_id"] == "b2"
    assert bookings.of_rider(store, "R2") == []


# --- swaps, bays out of service ------------------------------------------------------------------------


def test_a_swap_row_keeps_its_start_and_leaves_the_in_flight_list_when_it_ends(store: Store) -> None:
    later = WALL + timedelta(minutes=2)
    with store.transaction() as tx:
        swaps.save(tx, swap_id="w1", rider_id="R1", state="opening", outcome=None, record={"n": 1}, wall=WALL)
        swaps.save(tx, swap_id="w2", rider_id="R2", state="opening", outcome=None, record={"n": 2}, wall=later)
    assert swaps.in_flight(store) == [{"n": 1}, {"n": 2}]
    with store.transaction() as tx:
        swaps.save(tx, swap_id="w1", rider_id="R1", state="done", outcome="completed", record={"n": 3}, wall=later)
    assert swaps.in_flight(store) == [{"n": 2}]
    started, updated = store.db.execute("SELECT started, updated FROM swaps WHERE id = 'w1'").fetchone()
    assert (started, updated) == (WALL.isoformat(), later.isoformat())
    assert swaps.last_ended(store, "R1", "completed") == later
    assert swaps.last_ended(store, "R2", "completed") is None
    assert swaps.outcomes(store) == {"completed": 1}


def test_bays_out_of_service_are_kept_replaced_and_brought_back(store: Store) -> None:
    with store.transaction() as tx:
        out_of_service.take_out(tx, 3, "lock did not open", WALL)
        out_of_service.take_out(tx, 4, "staff", WALL)
        out_of_service.take_out(tx, 3, "cleaning", WALL)
    assert out_of_service.bays(store) == {3: "cleaning", 4: "staff"}
    with store.transaction() as tx:
        out_of_service.bring_back(tx, 4)
        out_of_service.bring_back(tx, 5)  # never out: nothing happens
    assert out_of_service.bays(store) == {3: "cleaning"}


# --- settings, nonces, trusted time --------------------------------------------------------------------


def test_settings_and_sync_state_are_separate_tables(store: Store) -> None:
    with store.transaction() as tx:
        settings.write(tx, "bundle", "{}")
        settings.write(tx, "bundle", '{"v": 2}')
        settings.write(tx, "bundle", "etag", table=settings.SYNC_STATE)
    assert settings.read(store, "bundle") == '{"v": 2}'
    assert settings.read(store, "bundle", table=settings.SYNC_STATE) == "etag"
    assert settings.read(store, "nothing") is None
    with pytest.raises(ValueError, match="no key-value table"):
        settings.read(store, "k", table="events; DROP TABLE events")


def test_a_nonce_is_spent_once_and_a_session_claims_one_swap(store: Store) -> None:
    with store.transaction() as tx:
        assert nonces.spend_nonce(tx, "n1", rider_id="R1", use=nonces.SESSION, at=WALL)
        assert not nonces.spend_nonce(tx, "n1", rider_id="R1", use=nonces.SWAP, at=WALL)
        assert nonces.spend_nonce(tx, "n2", rider_id="R1", use=nonces.ENTRY, at=WALL)
    assert (nonces.nonce_used(store, "n1"), nonces.nonce_used(store, "n3")) == (True, False)
    assert (nonces.nonce_use(store, "n1"), nonces.nonce_use(store, "n3")) == (nonces.SESSION, None)
    with store.transaction() as tx:
        assert nonces.claim_session_swap(tx, "n1")
        assert not nonces.claim_session_swap(tx, "n1")
        assert not nonces.claim_session_swap(tx, "n2")  # an entry code's session is no session
    assert nonces.nonce_use(store, "n1") == nonces.SWAP
    with pytest.raises(ValueError, match="unknown nonce use"), store.transaction() as tx:
        nonces.spend_nonce(tx, "n4", rider_id="R1", use="anything", at=WALL)


def test_the_trusted_time_mark_is_kept_and_replaced(store: Store) -> None:
    assert timemark.read_time_mark(store) is None
    with store.transaction() as tx:
        timemark.write_time_mark(tx, "one")
        timemark.write_time_mark(tx, "two")
    assert timemark.read_time_mark(store) == "two"


# --- one transaction ---------------------------------------------------------------------------------


def _writes_then_fails(component: StoreComponent) -> None:
    with component.transaction() as tx:
        tx.append(StationStarted(version="t", warnings=[]))
        swaps.save(tx, swap_id="w1", rider_id="R1", state="opening", outcome=None, record={}, wall=WALL)
        nonces.spend_nonce(tx, "n1", rider_id="R1", use=nonces.SWAP, at=WALL)
        goods.restock(tx, 7, "tea", 1, WALL)
        raise RuntimeError("the disk is full")


def test_a_state_change_and_its_event_commit_together_or_not_at_all(tmp_path: Path, fake_clock: FakeClock) -> None:
    """The flows' rule, through the component they use: a failure after the writes leaves neither."""
    heard: list[int] = []
    component = StoreComponent(
        tmp_path / "k.db",
        station_id=STATION,
        clock=fake_clock,
        boot_id="b",
        retention=timedelta(days=1),
        on_commit=lambda records: heard.extend(r.seq for r in records),
    )

    async def scenario() -> None:
        await component.start()
        store = component.store
        try:
            with pytest.raises(RuntimeError, match="disk is full"):
                _writes_then_fails(component)
            after = (store.events(), swaps.in_flight(store), nonces.nonce_used(store, "n1"), goods.stock(store))
            assert after == ([], [], False, {})
            assert heard == []
            with component.transaction() as tx:
                seq = tx.append(StationStarted(version="t", warnings=[])).seq
                swaps.save(tx, swap_id="w1", rider_id="R1", state="opening", outcome=None, record={}, wall=WALL)
            assert (heard, swaps.in_flight(store)) == ([seq], [{}])
            with pytest.raises(StoreError, match="ended"):
                swaps.save(tx, swap_id="w2", rider_id="R1", state="x", outcome=None, record={}, wall=WALL)
        finally:
            await component.close()

    asyncio.run(scenario())
