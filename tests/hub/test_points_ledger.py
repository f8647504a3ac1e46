"""The hub's points ledger: earning with daily limits, live and offline spends applied exactly once, double spends."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import pytest

from hub.content import Content
from hub.storage import Storage
from hub.storage.db import Tx
from hub.storage.points_models import EntryKind, EntryStatus
from kiosk.core.clock import FakeClock
from kiosk.core.events import EventRecord
from kiosk.sync.protocol import PointsRule, SpendRequest
from tests.hub.conftest import HUB_NOW
from tests.hub.support import record


@pytest.fixture
def city(storage: Storage) -> Storage:
    """Two stations, a check-in rule (3 points, once a day) and a feedback rule (1 point, twice a day)."""
    storage.add_station("st-a", name="甲", name_en="A")
    storage.add_station("st-b", name="乙", name_en="B")
    storage.load_content(
        Content(
            points_rules=[PointsRule(id="checkin", points=3, per_day=1), PointsRule(id="feedback", points=1, per_day=2)]
        )
    )
    return storage


class Station:
    """A simulated station's event log: each call writes the next seq."""

    def __init__(self, station_id: str) -> None:
        self.station_id = station_id
        self.seq = 0

    def event(self, type_: str, wall: datetime | None = None, **payload: Any) -> EventRecord:
        self.seq += 1
        return record(self.station_id, self.seq, type_=type_, payload=payload, wall=wall)

    def earned(
        self,
        entry_id: str,
        rider: str = "r-1",
        rule: str = "checkin",
        points: int = 3,
        day: str = "2026-03-10",
        wall: datetime | None = None,
    ) -> EventRecord:
        body = {"entry_id": entry_id, "rider_id": rider, "rule": rule, "points": points, "day": day}
        return self.event("points.earned", wall=wall, **body)

    def spent(self, entry_id: str, points: int, rider: str = "r-1", confirmed: bool = False) -> EventRecord:
        body = {"entry_id": entry_id, "rider_id": rider, "item_id": "water", "points": points, "bay": 7}
        return self.event("points.spent", **body, confirmed=confirmed)


def credit(storage: Storage, points: int, rider: str = "r-1") -> None:
    storage.credit_points(rider, points, "community report", by="ops")


def spend(storage: Storage, station: str, entry_id: str, points: int, rider: str = "r-1") -> Any:
    request = SpendRequest(station_id=station, entry_id=entry_id, rider_id=rider, item_id="water", points=points)
    return storage.spend_now(station, request)


def test_a_checkin_earns_the_points_the_station_credited(city: Storage) -> None:
    a = Station("st-a")
    city.ingest("st-a", [a.earned("earn-0001")])
    assert city.balance("r-1") == 3


def test_the_daily_limit_of_a_rule_holds_across_stations(city: Storage) -> None:
    a, b = Station("st-a"), Station("st-b")
    city.ingest("st-a", [a.earned("earn-a-001")])
    city.ingest("st-b", [b.earned("earn-b-001")])
    assert city.balance("r-1") == 3
    rejected = city.ledger(station_id="st-b")[0]
    assert rejected.status is EntryStatus.REJECTED
    assert "at most once a day" in rejected.reason


def test_the_daily_limit_starts_again_the_next_day(city: Storage) -> None:
    a = Station("st-a")
    yesterday = HUB_NOW - timedelta(days=1)
    city.ingest("st-a", [a.earned("earn-0001", wall=yesterday, day="2026-03-09"), a.earned("earn-0002")])
    assert city.balance("r-1") == 6


def test_a_rule_earned_twice_a_day_counts_twice_and_no_more(city: Storage) -> None:
    a = Station("st-a")
    events = [a.earned(f"earn-fb-{i:03d}", rule="feedback", points=1) for i in range(3)]
    city.ingest("st-a", events)
    assert city.balance("r-1") == 2


def test_an_earning_under_a_rule_the_city_does_not_have_is_rejected(city: Storage) -> None:
    a = Station("st-a")
    city.ingest("st-a", [a.earned("earn-0001", rule="birthday")])
    assert city.balance("r-1") == 0
    assert "no points rule 'birthday'" in city.ledger(rider_id="r-1")[0].reason


def test_an_operator_credit_is_in_the_ledger_with_its_reason(city: Storage) -> None:
    entry = city.credit_points("r-1", 20, "reported a broken light", by="ops")
    assert (entry.kind, entry.points, entry.station_id) == (EntryKind.CREDITED, 20, None)
    assert "reported a broken light" in entry.reason
    assert city.balance("r-1") == 20


def test_a_credit_without_a_reason_is_refused(city: Storage) -> None:
    with pytest.raises(ValueError, match="say why"):
        city.credit_points("r-1", 5, "  ", by="ops")


def test_a_live_spend_covered_by_the_balance_is_accepted(city: Storage) -> None:
    credit(city, 10)
    answer = spend(city, "st-a", "spend-0001", 4)
    assert (answer.accepted, answer.balance, answer.reason) == (True, 6, None)
    assert city.balance("r-1") == 6


def test_a_live_spend_asked_twice_gets_the_same_answer_and_takes_the_points_once(city: Storage) -> None:
    credit(city, 10)
    first = spend(city, "st-a", "spend-0001", 4)
    again = spend(city, "st-a", "spend-0001", 4)
    assert again == first
    assert city.balance("r-1") == 6


def test_a_live_spend_beyond_the_balance_is_refused_in_plain_words(city: Storage) -> None:
    credit(city, 3)
    answer = spend(city, "st-a", "spend-0001", 4)
    assert not answer.accepted
    assert answer.reason == "not enough points: the balance is 3, the item costs 4"
    assert city.balance("r-1") == 3


def test_the_event_of_a_live_spend_does_not_take_the_points_again(city: Storage) -> None:
    a = Station("st-a")
    credit(city, 10)
    spend(city, "st-a", "spend-0001", 4)
    city.ingest("st-a", [a.spent("spend-0001", 4, confirmed=True)])
    assert city.balance("r-1") == 6
    assert len(city.ledger(rider_id="r-1")) == 2


def test_an_offline_spend_sent_twice_is_applied_once(city: Storage) -> None:
    a = Station("st-a")
    credit(city, 10)
    batch = [a.spent("spend-0001", 4)]
    first = city.ingest("st-a", batch)
    again = city.ingest("st-a", batch)
    assert (first.accepted, again.duplicates) == ([batch[0].id], [batch[0].id])
    assert city.balance("r-1") == 6


def test_a_double_spend_across_stations_applies_the_first_ingested_and_rejects_the_second(city: Storage) -> None:
    a, b = Station("st-a"), Station("st-b")
    credit(city, 5)
    city.ingest("st-b", [b.spent("spend-b-001", 5)])
    city.ingest("st-a", [a.spent("spend-a-001", 5)])
    assert city.balance("r-1") == 0
    rejected = city.ledger(station_id="st-a")[0]
    assert (rejected.status, rejected.kind) == (EntryStatus.REJECTED, EntryKind.SPENT)
    assert "already spent elsewhere" in rejected.reason


def test_a_double_spend_is_a_correction_in_the_bundle_balance_of_the_second_station(city: Storage) -> None:
    a, b = Station("st-a"), Station("st-b")
    credit(city, 5)
    city.ingest("st-a", [a.spent("spend-a-001", 5)])
    city.ingest("st-b", [b.spent("spend-b-001", 5)])
    [balance] = city.rider_balances_for("st-b")
    assert (balance.rider_id, balance.balance, balance.station_seq) == ("r-1", 0, 1)
    assert [(c.entry_id, c.station_id, c.points) for c in balance.corrections] == [("spend-b-001", "st-b", 5)]


def test_a_cancelled_spend_gives_the_points_back_once(city: Storage) -> None:
    a = Station("st-a")
    credit(city, 10)
    cancel = a.event("points.spend_cancelled", entry_id="spend-0001", rider_id="r-1", reason="lock failed")
    city.ingest("st-a", [a.spent("spend-0001", 4), cancel])
    city.ingest("st-a", [cancel])
    assert city.balance("r-1") == 10


def test_a_cancellation_arriving_before_its_spend_still_nets_to_nothing(city: Storage) -> None:
    a = Station("st-a")
    credit(city, 10)
    spent = a.spent("spend-0001", 4)
    cancel = a.event("points.spend_cancelled", entry_id="spend-0001", rider_id="r-1", reason="lock failed")
    city.ingest("st-a", [cancel])
    city.ingest("st-a", [spent])
    assert city.balance("r-1") == 10


def test_a_malformed_points_event_is_stored_but_not_applied_and_logged_with_its_id(
    city: Storage, caplog: pytest.LogCaptureFixture
) -> None:
    a = Station("st-a")
    bad = a.event("points.earned", entry_id="earn-0001", rider_id="r-1", rule="checkin", points=-5, day="today")
    with caplog.at_level(logging.WARNING, logger="hub.storage.points_apply"):
        result = city.ingest("st-a", [bad])
    assert result.accepted == [bad.id]
    assert city.balance("r-1") == 0
    assert [r for r in caplog.records if bad.id in r.getMessage()]


def test_a_rider_whose_code_was_accepted_is_in_the_station_balances(city: Storage) -> None:
    a = Station("st-a")
    credit(city, 7, rider="r-2")
    city.ingest("st-a", [a.event("code.accepted", rider_id="r-2", scope="swap", kid="k1", nonce="00" * 8)])
    assert [(b.rider_id, b.balance) for b in city.rider_balances_for("st-a")] == [("r-2", 7)]
    assert city.rider_balances_for("st-b") == []


def test_riders_not_seen_for_longer_than_the_period_leave_the_station_balances(
    city: Storage, hub_clock: FakeClock
) -> None:
    a = Station("st-a")
    city.ingest("st-a", [a.earned("earn-0001")])
    hub_clock.advance(timedelta(days=31).total_seconds())
    assert city.rider_balances_for("st-a", days=30) == []


def test_the_ledger_lists_newest_first(city: Storage) -> None:
    credit(city, 1)
    credit(city, 2)
    credit(city, 3)
    assert [e.points for e in city.ledger(rider_id="r-1")] == [3, 2, 1]


def test_points_by_station_counts_issued_spent_and_rejected(city: Storage) -> None:
    a, b = Station("st-a"), Station("st-b")
    credit(city, 4)
    city.ingest("st-a", [a.earned("earn-0001"), a.spent("spend-a-001", 5)])
    city.ingest("st-b", [b.spent("spend-b-001", 5)])
    figures = {f.station_id: (f.issued, f.spent, f.rejected_spends) for f in city.points_by_station(HUB_NOW)}
    assert figures == {"st-a": (3, 5, 0), "st-b": (0, 0, 1), None: (4, 0, 0)}


def test_two_stations_spending_the_same_points_at_the_same_moment_get_one_spend(city: Storage) -> None:
    riders = [f"r-{i}" for i in range(6)]
    for rider in riders:
        credit(city, 5, rider=rider)
    a, b = Station("st-a"), Station("st-b")
    batches = {
        "st-a": [a.spent(f"spend-a-{r}", 5, rider=r) for r in riders],
        "st-b": [b.spent(f"spend-b-{r}", 5, rider=r) for r in reversed(riders)],
    }
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(lambda station: city.ingest(station, batches[station]), batches))
    assert [city.balance(r) for r in riders] == [0] * len(riders)
    for rider in riders:
        assert sorted(e.status.value for e in city.ledger(rider_id=rider) if e.kind is EntryKind.SPENT) == [
            "applied",
            "rejected",
        ]


# --- one batch holding many events of the same riders ----------------------------------------------------


def test_a_batch_of_many_riders_applies_each_riders_events(city: Storage) -> None:
    a = Station("st-a")
    riders = [f"r-{i:03d}" for i in range(120)]
    batch = [a.earned(f"earn-{r}", rider=r) for r in riders] + [a.spent(f"spend-{r}", 2, rider=r) for r in riders]
    city.ingest("st-a", batch)
    assert {r: city.balance(r) for r in riders} == dict.fromkeys(riders, 1)


def test_an_earning_over_the_daily_limit_within_one_batch_is_rejected(city: Storage) -> None:
    a = Station("st-a")
    city.ingest("st-a", [a.earned("earn-0001"), a.earned("earn-0002")])
    assert city.balance("r-1") == 3
    assert [e.status for e in city.ledger(rider_id="r-1")] == [EntryStatus.REJECTED, EntryStatus.APPLIED]


def test_a_spend_is_covered_by_an_earning_earlier_in_the_same_batch(city: Storage) -> None:
    a = Station("st-a")
    city.ingest("st-a", [a.earned("earn-0001"), a.spent("spend-0001", 3)])
    assert city.balance("r-1") == 0
    assert city.ledger(rider_id="r-1")[0].status is EntryStatus.APPLIED


def test_a_second_spend_of_the_same_points_within_one_batch_is_rejected(city: Storage) -> None:
    a = Station("st-a")
    credit(city, 5)
    city.ingest("st-a", [a.spent("spend-0001", 5), a.spent("spend-0002", 5)])
    assert city.balance("r-1") == 0
    newest = city.ledger(rider_id="r-1")[0]
    assert (newest.entry_id, newest.status) == ("spend-0002", EntryStatus.REJECTED)
    assert "already spent elsewhere" in newest.reason


def test_the_same_entry_twice_in_one_batch_counts_once(city: Storage) -> None:
    a = Station("st-a")
    credit(city, 10)
    city.ingest("st-a", [a.spent("spend-0001", 4), a.spent("spend-0001", 4)])
    assert city.balance("r-1") == 6
    assert len(city.ledger(rider_id="r-1")) == 2


def test_a_cancellation_before_its_spend_in_one_batch_still_nets_to_nothing(city: Storage) -> None:
    a = Station("st-a")
    credit(city, 10)
    cancel = a.event("points.spend_cancelled", entry_id="spend-0001", rider_id="r-1", reason="lock failed")
    spent = a.spent("spend-0001", 4)
    city.ingest("st-a", [spent, cancel])  # applied in seq order: the cancellation first
    assert city.balance("r-1") == 10
    refund = next(e for e in city.ledger(rider_id="r-1") if e.kind is EntryKind.REFUNDED)
    assert (refund.status, refund.points) == (EntryStatus.APPLIED, 4)


def test_a_batchs_entries_are_listed_in_the_order_the_station_wrote_them(city: Storage) -> None:
    a = Station("st-a")
    credit(city, 9)
    city.ingest("st-a", [a.spent("spend-0001", 1), a.spent("spend-0002", 2), a.earned("earn-0001")])
    assert [e.entry_id for e in city.ledger(rider_id="r-1")][:3] == ["earn-0001", "spend-0002", "spend-0001"]


def test_a_batchs_statements_do_not_grow_with_its_riders(city: Storage, monkeypatch: pytest.MonkeyPatch) -> None:
    statements: list[str] = []
    execute, executemany = Tx.execute, Tx.executemany

    def counted_execute(self: Tx, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        statements.append(sql)
        return execute(self, sql, params)

    def counted_executemany(self: Tx, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        statements.append(sql)
        executemany(self, sql, rows)

    monkeypatch.setattr(Tx, "execute", counted_execute)
    monkeypatch.setattr(Tx, "executemany", counted_executemany)

    def cost(station: Station, riders: int) -> int:
        batch = []
        for i in range(riders):
            rider = f"{station.station_id}-{i}"
            batch += [station.earned(f"earn-{rider}", rider=rider), station.spent(f"spend-{rider}", 2, rider=rider)]
            batch.append(station.event("code.accepted", rider_id=rider, scope="swap", kid="k1", nonce="00" * 8))
        statements.clear()
        city.ingest(station.station_id, batch)
        return len(statements)

    # 150 riders: 450 events, one statement of the events insert on both engines, like 2 riders.
    assert cost(Station("st-a"), 2) == cost(Station("st-b"), 150)
