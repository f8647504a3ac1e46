"""The outbox relay: unsynced events to the hub, the bundle from it, a heartbeat — never in the station's way.

It runs as a task on the core loop, but every HTTP call runs in a worker thread, so the loop never
waits on the network; reading the outbox and marking events synced happen on the loop (one writer).

- Events go in ``seq`` order in gzip batches. Only the ids the hub acknowledged (stored now, or already
  stored earlier) are marked synced; the rest are sent again later with the same ids. The batch size
  grows while sends succeed and shrinks when they time out, up to :data:`MAX_BATCH_EVENTS`.
- Failures wait with full-jitter backoff up to ``backoff_cap_s``; 429/503 ``Retry-After`` is honoured; a
  refusal (bad token) is shown on the status page and retried only at the cap, never hot.
- A bundle is checked by the station (``on_bundle``) before it is stored; a bad one is refused and the
  old one kept. The stored bundle is applied again at every start, so the station works offline.
- A batch the hub finds too large (413, events with long texts) shrinks the batches; it is not a refusal.
- Heartbeats carry the summary every time and the full status snapshot every few minutes (idle traffic).
- ``sync_now()`` starts a fresh round that also fetches the bundle and sends a heartbeat.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from datetime import datetime
from typing import Any

from pydantic import JsonValue

from kiosk.core.clock import Clock
from kiosk.core.config import SyncConfig
from kiosk.core.errors import KioskError
from kiosk.core.events import EventRecord
from kiosk.core.secrets import read_secret_file
from kiosk.store import Store, settings
from kiosk.sync.backoff import Backoff
from kiosk.sync.client import HubBusy, HubClient, HubError, HubRefused, HubUnavailable
from kiosk.sync.protocol import (
    MAX_BATCH_EVENTS,
    Bundle,
    EventBatch,
    Heartbeat,
    SafetyAlarm,
    SpendAnswer,
    SpendRequest,
)

log = logging.getLogger(__name__)

BundleCheck = Callable[[Bundle], Callable[[], None]]
"""Checks a bundle (raising ``ValueError``/``KioskError`` if the station cannot use it) and returns the
step that puts it into effect. The check runs in a worker thread (it must touch no shared state); the
step runs on the loop."""

FIRST_BATCH = 100
SMALLEST_BATCH = 10
ALARM_BACKOFF_CAP_S = 30.0
"""The longest wait between two tries of a safety alarm (s): short, a fire does not wait."""
FULL_STATUS_EVERY_S = 300.0
"""Most seconds between heartbeats carrying the full status snapshot (sooner when the warnings change).

The summary (backlog, warnings, charged batteries, clock) goes with every heartbeat; the snapshot of
every component is most of a heartbeat's bytes and changes mostly in battery telemetry, so sending it
every minute would by itself exceed the idle budget of 100 KB/hour. Heartbeats in between carry ``{}``.
"""
BUNDLE_KEY = "bundle"
ETAG_KEY = "bundle_etag"


class SyncRelay:
    """The station's side of the sync protocol, as a runtime component."""

    name = "sync"
    optional = True

    def __init__(
        self,
        config: SyncConfig,
        *,
        station_id: str,
        store: Callable[[], Store],
        clock: Clock,
        heartbeat: Callable[[], Heartbeat],
        on_bundle: BundleCheck,
        rand: Callable[[], float] = random.random,
        on_hub_time: Callable[[datetime], None] | None = None,
    ) -> None:
        self.config = config
        self.station_id = station_id
        self._store = store
        self.clock = clock
        self._heartbeat = heartbeat
        self._on_bundle = on_bundle
        self._on_hub_time = on_hub_time
        """Told the hub's time from its answers (the station's trusted time, ``TimeKeeper.hub_time``)."""
        self.backoff = Backoff(min(2.0, config.backoff_cap_s), config.backoff_cap_s, rand)
        self.batch_size = FIRST_BATCH
        self.batch_cap = MAX_BATCH_EVENTS
        """Largest batch to grow to; lowered when the hub finds a batch too large (413)."""
        self.client: HubClient | None = None
        self.spend_client: HubClient | None = None
        """A second client for live spends: the relay's own may be busy with a batch in its thread."""
        self._spend_error: str | None = None
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._round_done = asyncio.Event()
        self.rounds_started = 0
        self.rounds_done = 0
        self.last_success: datetime | None = None
        self.last_error: str | None = None
        self.refused: str | None = None
        self.events_sent = 0
        self._next_bundle = 0.0
        self._next_heartbeat = 0.0
        self._forced = False
        self.alarm_client: HubClient | None = None
        """A third client for safety alarms: they go at once, never behind a batch or a spend."""
        self._alarms: dict[str, EventRecord] = {}
        """Alarms not yet acknowledged by the hub, oldest first."""
        self._alarm_wake = asyncio.Event()
        self._alarm_task: asyncio.Task[None] | None = None
        self.alarm_backoff = Backoff(0.5, ALARM_BACKOFF_CAP_S, rand)
        self.alarms_sent = 0
        self.alarm_error: str | None = None
        self.bundle_generated: datetime | None = None
        self.bundle_refused: str | None = None
        """Why the hub's newest bundle was refused (the station keeps its last one), or None."""
        self._full_status_at: float | None = None
        self._full_status_warnings: list[str] = []

    # --- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Apply the stored bundle, read the token, and begin syncing (if enabled)."""
        self._apply_stored_bundle()
        if not self.config.enabled or not self.config.hub_url:
            return
        token = read_secret_file(self.config.token_file)  # a missing token is this component failing to start
        self.client = HubClient(self.config.hub_url, self.station_id, token, timeout_s=self.config.timeout_s)
        self.spend_client = HubClient(self.config.hub_url, self.station_id, token, timeout_s=self.config.timeout_s)
        self.alarm_client = HubClient(self.config.hub_url, self.station_id, token, timeout_s=self.config.timeout_s)
        self._task = asyncio.create_task(self._run(), name="sync-relay")
        self._alarm_task = asyncio.create_task(self._send_alarms(), name="sync-alarms")
        if self._alarms:
            self._alarm_wake.set()

    async def close(self) -> None:
        """Stop (an exchange in flight is abandoned; its events are simply sent again next time)."""
        for task in (self._task, self._alarm_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._task = self._alarm_task = None
        for client in (self.client, self.spend_client, self.alarm_client):
            if client is not None:
                client.close()
        self.client = self.spend_client = self.alarm_client = None

    def sync_now(self) -> None:
        """Skip the wait: run a round at once (``kiosk sync now``), fetching the bundle and sending a heartbeat too.

        Staff press "sync now" to get fresh keys and revocations, so the bundle is not left to its timer.
        """
        self._forced = True  # read by the next round to start, never by one already under way
        self._wake.set()

    async def wait_round(self, timeout_s: float) -> bool:
        """Wait until a round that starts after this call has ended (True), or ``timeout_s`` passes (False).

        A round already under way does not count: it may have passed the bundle fetch before the request.
        """
        target = self.rounds_started + 1
        try:
            async with asyncio.timeout(timeout_s):
                while self.rounds_done < target:
                    self._round_done.clear()
                    await self._round_done.wait()
        except TimeoutError:
            return False
        return True

    async def spend(self, request: SpendRequest, timeout_s: float) -> SpendAnswer | None:
        """The hub's live answer to a spend, or None when there is none in ``timeout_s``.

        None covers every way of not getting an answer (sync off, unreachable, 5xx, a refusal of the station
        itself, too slow): the offline rule then decides. Logged once per change, not per spend.
        """
        client = self.spend_client
        if client is None:
            return None
        try:
            async with asyncio.timeout(timeout_s):
                answer = await asyncio.to_thread(client.post_spend, request, timeout_s)
        except (HubError, TimeoutError) as exc:
            message = str(exc) or f"no answer within {timeout_s:g} s"
            if message != self._spend_error:
                log.warning("no live answer from the hub to a points spend (the offline rule decides): %s", message)
            self._spend_error = message
            return None
        if self._spend_error is not None:
            log.info("the hub answers live points spends again")
        self._spend_error = None
        return answer

    def urgent(self, record: EventRecord) -> None:
        """Send this safety alarm to the hub now, in its own request, and keep trying until it is acknowledged.

        The alarm is an ordinary stored event too, so it reaches the hub with the batches whatever happens
        here (a restart forgets only the early copy).
        """
        self._alarms[record.id] = record
        self._alarm_wake.set()

    async def _send_alarms(self) -> None:
        while True:
            await self._alarm_wake.wait()
            self._alarm_wake.clear()
            while self._alarms and self.alarm_client is not None:
                record = next(iter(self._alarms.values()))
                alarm = SafetyAlarm(station_id=self.station_id, event=record)
                try:
                    await asyncio.to_thread(self.alarm_client.post_alarm, alarm)
                except HubError as exc:
                    retry_after = exc.retry_after_s if isinstance(exc, HubBusy) else None
                    wait = self.alarm_backoff.next_wait(retry_after)
                    if str(exc) != self.alarm_error:
                        log.warning("the hub has not taken safety alarm %s yet (trying again): %s", record.id, exc)
                    self.alarm_error = str(exc)
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(wait):
                            await self._alarm_wake.wait()
                    self._alarm_wake.clear()
                    continue
                self._alarms.pop(record.id, None)
                self.alarm_backoff.reset()
                self.alarms_sent += 1
                if self.alarm_error is not None:
                    log.info("the hub takes safety alarms again")
                self.alarm_error = None

    # --- the rounds ----------------------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            # Cleared before the round, not after: a sync_now() during the round must start another one.
            self._wake.clear()
            self.rounds_started += 1
            try:
                wait = await self.round()
            except Exception as exc:  # a bug or a broken store must not end syncing for good: back off, retry
                log.exception("sync round failed unexpectedly")
                wait = self._failed(f"unexpected error: {type(exc).__name__}: {exc}", None)
            finally:
                self.rounds_done += 1
                self._round_done.set()
            if self._wake.is_set():
                continue
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._wake.wait()

    async def round(self) -> float:
        """One exchange with the hub; returns how long to wait before the next."""
        forced, self._forced = self._forced, False
        try:
            await self._push_events()
            now = self.clock.monotonic()
            if forced or now >= self._next_bundle:
                await self._fetch_bundle()
                self._next_bundle = now + self.config.bundle_s
            if forced or now >= self._next_heartbeat:
                await self._send_heartbeat()
                self._next_heartbeat = now + self.config.heartbeat_s
        except HubBusy as exc:
            return self._failed(str(exc), exc.retry_after_s)
        except HubRefused as exc:
            self.refused = str(exc)
            self._failed(str(exc), None)
            return self.config.backoff_cap_s
        except HubError as exc:
            return self._failed(str(exc), None)
        self.backoff.reset()
        self.last_success = self.clock.wall()
        self.last_error = self.refused = None
        return 0.0 if self._backlog() else self.config.interval_s

    def _failed(self, message: str, retry_after_s: float | None) -> float:
        if message != self.last_error:
            log.warning("sync with the hub failed: %s", message)
        self.last_error = message
        return self.backoff.next_wait(retry_after_s)

    def _backlog(self) -> int:
        return self._store().stats().unsynced_count

    async def _push_events(self) -> None:
        assert self.client is not None
        store = self._store()
        while True:
            records = store.unsynced(self.batch_size)
            if not records:
                return
            batch = EventBatch(station_id=self.station_id, events=records)
            try:
                ack = await asyncio.to_thread(self.client.post_events, batch)
            except HubUnavailable as exc:
                if "Timeout" in str(exc):
                    self.batch_size = max(SMALLEST_BATCH, self.batch_size // 2)
                raise
            except HubRefused as exc:
                if exc.status != 413 or self.batch_size == 1:
                    raise
                # Too large for the hub's body cap (events with long texts): smaller batches, not a refusal.
                self.batch_size = self.batch_cap = max(1, self.batch_size // 4)
                raise HubUnavailable(f"{exc}; sending smaller batches of {self.batch_size}") from exc
            sent = {r.id for r in records}
            acknowledged = sent & (set(ack.accepted) | set(ack.duplicates))
            marked = store.mark_synced(acknowledged, self.clock.wall())
            self.events_sent += marked
            if acknowledged != sent:
                # The hub stored only some: send the rest again, later, with the same ids.
                raise HubUnavailable(f"the hub acknowledged {len(acknowledged)} of {len(sent)} events")
            if len(records) == self.batch_size:
                self.batch_size = min(self.batch_cap, self.batch_size * 2)

    async def _fetch_bundle(self) -> None:
        assert self.client is not None
        store = self._store()
        etag = settings.read(store, ETAG_KEY, table=settings.SYNC_STATE)
        bundle, new_etag = await asyncio.to_thread(self.client.get_bundle, etag)
        if bundle is None:
            return
        try:
            if bundle.station_id != self.station_id:
                raise ValueError(f"it is for station {bundle.station_id!r}")
            # Checked off the loop: decoding a city's registry takes a while, and the loop runs the safety supervisor.
            put_into_effect = await asyncio.to_thread(self._on_bundle, bundle)
        except (ValueError, KioskError) as exc:
            # Not a sync failure: events and heartbeats go on (the heartbeat tells the hub why), and the
            # bundle is asked for again at the next bundle period, not at once in a loop.
            if str(exc) != self.bundle_refused:
                log.error("refused the hub's bundle, keeping the old one: %s", exc)
            self.bundle_refused = str(exc)
            return
        with store.transaction() as tx:
            settings.write(tx, BUNDLE_KEY, bundle.model_dump_json())
            settings.write(tx, ETAG_KEY, new_etag or "", table=settings.SYNC_STATE)
        put_into_effect()
        self.bundle_generated = bundle.generated_at
        self.bundle_refused = None
        self._hub_time(bundle.generated_at)
        log.info("bundle from the hub applied (generated %s)", bundle.generated_at.isoformat())

    def adopt_bundle(self, bundle: Bundle) -> None:
        """Check, keep and apply a bundle handed in locally (the simulator's demo city, tests): as if fetched.

        Raises ``ValueError``/``KioskError`` when the station cannot use it (the old one stays).
        """
        if bundle.station_id != self.station_id:
            raise ValueError(f"the bundle is for station {bundle.station_id!r}, not {self.station_id!r}")
        put_into_effect = self._on_bundle(bundle)
        with self._store().transaction() as tx:
            settings.write(tx, BUNDLE_KEY, bundle.model_dump_json())
        put_into_effect()
        self.bundle_generated = bundle.generated_at

    def _apply_stored_bundle(self) -> None:
        text = settings.read(self._store(), BUNDLE_KEY)
        if not text:
            return
        try:
            bundle = Bundle.model_validate_json(text)
            self._on_bundle(bundle)()
        except (ValueError, KioskError) as exc:
            log.error("the stored bundle cannot be used (%s); waiting for a new one from the hub", exc)
            return
        self.bundle_generated = bundle.generated_at

    async def _send_heartbeat(self) -> None:
        """The summary every time; the full status snapshot only now and then (see :data:`FULL_STATUS_EVERY_S`)."""
        assert self.client is not None
        beat = self._heartbeat()
        now = self.clock.monotonic()
        full = (
            self._full_status_at is None
            or now - self._full_status_at >= FULL_STATUS_EVERY_S
            or beat.warnings != self._full_status_warnings
        )
        sent = beat.model_copy(update={"status": compact_status(beat.status) if full else {}})
        ack = await asyncio.to_thread(self.client.post_heartbeat, sent)
        self._hub_time(ack.server_time)
        if full:
            self._full_status_at = now
            self._full_status_warnings = list(beat.warnings)

    def _hub_time(self, at: datetime) -> None:
        if self._on_hub_time is not None and at.utcoffset() is not None:
            self._on_hub_time(at)

    # --- status -------------------------------------------------------------------------------

    def get_status(self) -> dict[str, Any]:
        """Backlog, oldest unsynced, last success and error, bytes sent — for the status page."""
        stats = self._store().stats()
        oldest = stats.oldest_unsynced_wall
        warnings: list[str] = []
        if self.refused:
            warnings.append(f"the hub refuses this station: {self.refused} — check the hub token")
        elif self.last_error and stats.unsynced_count:
            warnings.append(f"cannot reach the hub ({self.last_error}); {stats.unsynced_count} events wait")
        if self._alarms and self.config.enabled:
            warnings.append(f"{len(self._alarms)} safety alarm(s) not yet taken by the hub")
        if self.bundle_refused:
            warnings.append(
                f"the hub's newest bundle was refused, the station keeps its last one: {self.bundle_refused}"
            )
        return {
            "enabled": self.config.enabled,
            "hub_url": self.config.hub_url,
            "backlog": stats.unsynced_count,
            "oldest_unsynced": oldest.isoformat() if oldest else None,
            "oldest_unsynced_age_s": (self.clock.wall() - oldest).total_seconds() if oldest else None,
            "last_success": self.last_success.isoformat() if self.last_success else None,
            "last_error": self.last_error,
            "events_sent": self.events_sent,
            "bytes_sent": self.client.bytes_sent if self.client else 0,
            "batch_size": self.batch_size,
            "alarms_waiting": len(self._alarms),
            "alarms_sent": self.alarms_sent,
            "bundle_generated": self.bundle_generated.isoformat() if self.bundle_generated else None,
            "bundle_refused": self.bundle_refused,
            "warnings": warnings,
        }


def compact_status(value: dict[str, JsonValue]) -> dict[str, JsonValue]:
    """``value`` without null, empty-list and empty-object members, at any depth (absent reads as "none")."""
    return {k: _compact(v) for k, v in value.items() if v is not None and v != [] and v != {}}


def _compact(value: JsonValue) -> JsonValue:
    if isinstance(value, dict):
        return compact_status(value)
    if isinstance(value, list):
        return [_compact(v) for v in value]
    return value
