"""Attacks on the station through the battery registry in a hostile or garbled bundle (a compromised hub's answer).

Pure attacks on the decoder (bombs, absurd counts, unsorted or duplicated ids, the biggest registry that fits in
the 4 MiB a station reads, measured) and one through the real relay against the real hub (SQLite and PostgreSQL):
the station refuses the bundle, keeps its last one, says why in plain words on its status, and goes on sending
its events and heartbeats.
"""

from __future__ import annotations

import asyncio
import base64
import threading
import time
import tracemalloc
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hub.server import HubServer
from hub.storage import Storage
from kiosk.core.battery_registry import (
    MAX_PACKS,
    BatteryRegistry,
    PackRow,
    RegistryError,
    RegistryGroup,
    decode_registry,
    encode_registry,
    pack_ids,
)
from kiosk.core.clock import FakeClock
from kiosk.core.config import PolicyConfig
from kiosk.flows.bundle import bundle_check
from kiosk.sync.protocol import MAX_BUNDLE_BYTES, Bundle
from kiosk.sync.relay import BUNDLE_KEY
from tests.sync.support import STATION, Driver, make_relay, open_store, sync_config


def _deflated(text: bytes) -> str:
    return base64.b64encode(zlib.compress(text, 9)).decode()


def _group(ids: str, count: int, model: str = "M") -> RegistryGroup:
    return RegistryGroup(model=model, chemistry="nmc-13s", count=count, ids=ids)


def _registry(*groups: RegistryGroup, retired: str = "", retired_count: int = 0) -> BatteryRegistry:
    return BatteryRegistry(revision="r", groups=list(groups), retired=retired, retired_count=retired_count)


def _timed(registry: BatteryRegistry) -> tuple[float, BaseException | None]:
    started = time.perf_counter()
    try:
        decode_registry(registry)
    except RegistryError as exc:
        return time.perf_counter() - started, exc
    return time.perf_counter() - started, None


@pytest.mark.parametrize(
    ("registry", "words"),
    [
        # A gigabyte of one byte, deflated to about a megabyte, in a list that says it holds 1 id.
        (_registry(_group(_deflated(b"0SH0000001\n" + b"1" * 200_000_000), 1)), "longer than 1 ids can be"),
        # Counts that add up past what a station takes, before anything is inflated.
        (_registry(_group("", MAX_PACKS), _group("", MAX_PACKS, "N")), "at most 200000 are taken"),
        (_registry(_group(pack_ids(["SH01"]), 1), retired="", retired_count=MAX_PACKS), "at most 200000"),
        (_registry(_group(pack_ids(["SH01", "SH02"]), 5)), "says 5 ids but holds 2"),
        (_registry(retired=pack_ids(["SH01"]), retired_count=0), "must be empty"),
        (_registry(_group(_deflated(b"0SH02\n0SH01"), 2)), "not sorted"),
        (_registry(_group(_deflated(b"0SH01\n4"), 2)), "malformed line"),
        (_registry(_group(_deflated(b"0SH01\n0SH01"), 2)), "holds an id twice"),
        (_registry(_group(_deflated(b"0SH01\nz1"), 2)), "malformed line"),
        (_registry(_group(_deflated(b"0SH01\n91"), 2)), "shares more of an id"),
        (_registry(_group(_deflated(b"0<script>"), 1)), "not a pack id"),
        (_registry(_group(_deflated("0SH\u00e901".encode()), 1)), "not ASCII"),
        (_registry(_group(pack_ids(["SH01"]), 1), _group(pack_ids(["SH01"]), 1, "N")), "in two groups"),
        (_registry(_group(pack_ids(["SH01"]), 1), _group(pack_ids(["SH02"]), 1)), "lists model 'M'"),
        (_registry(_group(pack_ids(["SH01"])[:-3], 1)), "not base64"),
        (_registry(_group(base64.b64encode(zlib.compress(b"0SH01"))[:-8].decode(), 1)), "cut short"),
    ],
)
def test_a_hostile_registry_is_refused_quickly_in_plain_words(registry: BatteryRegistry, words: str) -> None:
    elapsed, refusal = _timed(registry)
    assert refusal is not None
    assert words in str(refusal)
    assert elapsed < 10.0  # a bound against a hang or a blow-up, not a speed target


def test_many_bombs_in_many_groups_inflate_no_more_than_their_counts() -> None:
    """A thousand groups, each one id that inflates to 200 MB: each stops after 34 bytes."""
    bomb = _deflated(b"0SH0000001\n" + b"1" * 200_000_000)
    registry = _registry(*(_group(bomb, 1, f"M{n}") for n in range(1000)))
    tracemalloc.start()
    try:
        elapsed, refusal = _timed(registry)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert refusal is not None
    assert peak < 16 * 1024 * 1024
    assert elapsed < 10.0  # a bound against a hang or a blow-up, not a speed target


def _longest_ids(count: int) -> list[str]:
    """``count`` ids of 32 characters each, sharing 24, in order: the most text a list of ``count`` can carry."""
    return [f"SH{'0' * 22}{n:08d}" for n in range(count)]


def test_the_biggest_registry_within_the_cap_decodes_in_bounded_time_and_memory() -> None:
    """200,000 ids of 32 characters (the most a station takes, the longest ids) fit in the 4 MiB; measured."""
    rows = [PackRow(i, "TL-48V20", "nmc-13s", retired=n % 25 == 0) for n, i in enumerate(_longest_ids(MAX_PACKS))]
    registry = encode_registry(rows)
    size = len(Bundle(station_id=STATION, generated_at="2026-03-10T09:30:00Z", batteries=registry).model_dump_json())  # type: ignore[arg-type]
    assert size < MAX_BUNDLE_BYTES
    tracemalloc.start()
    try:
        elapsed, refusal = _timed(registry)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    print(
        f"\n200,000 packs of 32 characters: {size / 1024:.0f} KiB, decode {elapsed:.2f} s, peak {peak / 2**20:.0f} MiB"
    )
    assert refusal is None
    assert elapsed < 30.0  # a bound against a hang or a blow-up, not a speed target
    assert peak < 128 * 1024 * 1024


def test_the_most_groups_that_fit_in_the_cap_decode_in_bounded_time() -> None:
    """One pack a model, as many models as 4 MiB of bundle holds (about 20,000 groups)."""
    groups = [_group(pack_ids([f"SH{n:07d}"]), 1, f"model {n:06d} " + "x" * 40) for n in range(20_000)]
    registry = _registry(*groups)
    size = len(Bundle(station_id=STATION, generated_at="2026-03-10T09:30:00Z", batteries=registry).model_dump_json())  # type: ignore[arg-type]
    assert size < MAX_BUNDLE_BYTES
    elapsed, refusal = _timed(registry)
    print(f"\n20,000 groups: {size / 1024:.0f} KiB, decode {elapsed:.2f} s")
    assert refusal is None
    assert elapsed < 30.0  # a bound against a hang or a blow-up, not a speed target


# --- through the relay, against the real hub ------------------------------------------------------------------


class _Controller:
    """Stands in for the station controller: records the registries put into effect."""

    def __init__(self) -> None:
        self.registries: list[Any] = []

    def use_bundle(self, **kw: Any) -> None:
        self.registries.append(kw["registry"])


@pytest.fixture
def relay_run(hub: HubServer, token_file: Path, tmp_path: Path) -> Iterator[tuple[Driver, _Controller, Any]]:
    clock = FakeClock()
    store = open_store(tmp_path / "station.db", clock)
    controller = _Controller()
    relay = make_relay(
        store,
        sync_config(hub.url, token_file),
        clock,
        on_bundle=bundle_check(controller, PolicyConfig()),  # type: ignore[arg-type]
    )
    driver = Driver(relay)
    yield driver, controller, store
    driver.close()
    store.close()


def _stored_bundle(store: Any) -> str | None:
    rows = store.db.execute("SELECT value FROM settings WHERE key = ?", [BUNDLE_KEY]).fetchall()
    return str(rows[0][0]) if rows else None


def _serve(driver: Driver, bundle: Bundle) -> None:
    driver.relay.client.get_bundle = lambda etag: (bundle, '"hostile"')  # type: ignore[method-assign, union-attr]


def test_a_hostile_registry_leaves_the_old_bundle_in_force_and_the_station_says_why(
    relay_run: tuple[Driver, _Controller, Any], hub_storage: Storage
) -> None:
    driver, controller, store = relay_run
    good = encode_registry([PackRow("SH0000001", "TL", "nmc-13s", retired=False)])
    _serve(driver, Bundle(station_id=STATION, generated_at="2026-03-10T09:30:00Z", batteries=good))  # type: ignore[arg-type]
    driver.relay._forced = True
    driver.round()
    assert len(controller.registries) == 1
    kept = _stored_bundle(store)
    assert kept is not None
    assert "09:30" in kept

    bomb = _registry(_group(_deflated(b"0SH0000001\n" + b"1" * 50_000_000), 1))
    _serve(driver, Bundle(station_id=STATION, generated_at="2026-03-10T10:30:00Z", batteries=bomb))  # type: ignore[arg-type]
    beats = len(driver.heartbeats_sent)
    driver.relay._forced = True
    started = time.perf_counter()
    wait = driver.round()
    assert time.perf_counter() - started < 30.0  # bounded: the bomb is refused, not inflated
    assert len(controller.registries) == 1  # the hostile one was never put into effect
    assert controller.registries[0].look_up("SH0000001").status.value == "in_service"
    assert len(driver.heartbeats_sent) == beats + 1  # the heartbeat still went, telling the hub
    assert wait == driver.relay.config.interval_s  # no back-off: syncing is fine
    status = driver.relay.get_status()
    assert status["bundle_refused"] is not None
    (warning,) = [w for w in status["warnings"] if "bundle" in w]
    assert "the hub's newest bundle was refused, the station keeps its last one" in warning
    assert "battery registry is unusable" in warning
    assert "longer than 1 ids can be" in warning
    assert str(driver.relay.bundle_generated).startswith("2026-03-10 09:30")
    assert _stored_bundle(store) == kept  # the hostile one was not written over it either

    # The hub mends its answer: the warning goes.
    _serve(driver, Bundle(station_id=STATION, generated_at="2026-03-10T11:30:00Z", batteries=good))  # type: ignore[arg-type]
    driver.relay._forced = True
    driver.round()
    assert len(controller.registries) == 2
    assert driver.relay.get_status()["bundle_refused"] is None


def test_checking_the_biggest_registry_does_not_stall_the_stations_loop(
    relay_run: tuple[Driver, _Controller, Any],
) -> None:
    """The loop runs the safety supervisor: a 200,000-pack registry is decoded beside it, not on it."""
    driver, controller, _ = relay_run
    rows = [PackRow(i, "TL-48V20", "nmc-13s", retired=False) for i in _longest_ids(MAX_PACKS)]
    big = Bundle(station_id=STATION, generated_at="2026-03-10T09:30:00Z", batteries=encode_registry(rows))  # type: ignore[arg-type]
    _serve(driver, big)
    driver.relay._forced = True
    gaps: list[float] = []
    checked_on: list[int] = []
    check = driver.relay._on_bundle

    def recording_check(bundle: Bundle) -> Any:
        checked_on.append(threading.get_ident())
        return check(bundle)

    driver.relay._on_bundle = recording_check

    async def round_and_ticks() -> None:
        task = asyncio.ensure_future(driver.relay.round())
        last = time.perf_counter()
        while not task.done():
            await asyncio.sleep(0.005)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now
        await task

    driver.loop.run_until_complete(round_and_ticks())
    assert len(controller.registries) == 1
    assert controller.registries[0].in_service == MAX_PACKS
    # The loop runs on this thread; the check ran on another (the longest gap is a figure, not a verdict).
    assert checked_on
    assert threading.get_ident() not in checked_on
    print(f"the loop's longest gap while the registry was checked: {max(gaps) * 1000:.0f} ms")
