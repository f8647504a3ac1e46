"""The store component: listeners hear only of committed events."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest

from kiosk.core.clock import FakeClock
from kiosk.core.events import ComponentFailed, EventRecord
from kiosk.store.component import StoreComponent


def make(tmp_path: Path, heard: list[EventRecord], clock: FakeClock) -> StoreComponent:
    return StoreComponent(
        tmp_path / "station.db",
        station_id="t-1",
        clock=clock,
        boot_id="boot-1",
        retention=timedelta(days=1),
        on_commit=heard.extend,
    )


def failed(name: str) -> ComponentFailed:
    return ComponentFailed(component=name, error="x", optional=True)


def test_a_committed_transaction_is_published_after_commit(tmp_path: Path, fake_clock: FakeClock) -> None:
    heard: list[EventRecord] = []

    async def scenario() -> None:
        comp = make(tmp_path, heard, fake_clock)
        await comp.start()
        with comp.transaction() as tx:
            tx.db["settings"].upsert({"key": "mode", "value": "open"}, pk="key")
            tx.append(failed("a"))
            tx.append_many([failed("b"), failed("c")])
            assert heard == []  # not yet: nothing is durable until the block ends
        await comp.close()

    asyncio.run(scenario())
    assert [r.seq for r in heard] == [1, 2, 3]


def test_a_rolled_back_transaction_is_never_published(tmp_path: Path, fake_clock: FakeClock) -> None:
    heard: list[EventRecord] = []

    async def scenario() -> None:
        comp = make(tmp_path, heard, fake_clock)
        await comp.start()

        def change_that_fails() -> None:
            with comp.transaction() as tx:
                tx.append(failed("a"))
                raise RuntimeError("bay sensor disagrees")

        with pytest.raises(RuntimeError):
            change_that_fails()
        assert comp.store.stats().events_total == 0
        await comp.close()

    asyncio.run(scenario())
    assert heard == []


def test_prune_keeps_unsynced_events(tmp_path: Path, fake_clock: FakeClock) -> None:
    heard: list[EventRecord] = []

    async def scenario() -> None:
        comp = make(tmp_path, heard, fake_clock)
        await comp.start()
        old = comp.append(failed("old"))
        comp.append(failed("unsynced"))
        comp.store.mark_synced([old.id], fake_clock.wall())
        fake_clock.advance(2 * 86400)
        assert comp.prune() == 1
        assert [r.payload["component"] for r in comp.events_since(0, 10)] == ["unsynced"]
        assert comp.get_status()["pruned_total"] == 1
        await comp.close()
        await comp.close()

    asyncio.run(scenario())
