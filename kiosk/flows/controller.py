"""The station's flows wired to the world: scans → code check → swap or entry machine → commands carried out.

The state machines in :mod:`kiosk.station` decide; this component feeds them and does what they say,
strictly in order, one input at a time on the loop:

- ``Persist`` — the swap row and its events in ONE transaction (with the code's nonce, whether the swap
  starts or is refused), before any later command: "opening bay 3" is on disk before bay 3's lock is pulsed.
- ``Unlock`` — the cabinet pulses the lock; a driver error comes back as ``UnlockFailed``.
- ``ReadBattery`` — read in the background; the reading comes back as ``BatteryRead``.
- ``Show`` — the touchscreen's screen feed. ``MarkBayFaulted`` — the bay leaves service (kept in SQLite).

At start, swaps found in flight are reconciled with what the sensors say (:mod:`kiosk.station.recovery`).

The rider desk (:mod:`kiosk.flows.rider_desk`) hears of every accepted code; while it waits for a rider to
identify, the next scan is its own. Goods bays belong to the desk: the swap flow never sees them.

One code, one use (:mod:`kiosk.store.nonces`): a code's nonce is recorded the first time the station acts
on it — a swap started or refused, the entry, an identification at the screen — and every later scan of it
is refused. A swap code scanned while someone else's swap runs is not acted on at all (the screen says
"busy"; no session, no check-in, the nonce stays unused for after). Only a session opened by an identifying
scan may start a swap later (``POST /api/rider/swap``), once, claimed in the store with the swap's row.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kiosk.api.rider import NoSwapNow, RiderConflict
from kiosk.api.screen import ScreenFeed
from kiosk.core.battery_registry import RegistryIndex
from kiosk.core.clock import Clock
from kiosk.core.config import Config, PolicyConfig
from kiosk.core.errors import DeviceError, KioskError
from kiosk.core.events import Event
from kiosk.core.ids import new_id
from kiosk.core.ridercode import RiderCode, Scope
from kiosk.devices.base import BatteryReading, BayState, DoorState, Scan
from kiosk.flows.cabinet import CabinetComponent
from kiosk.flows.rider_desk import RiderDesk
from kiosk.station.codes import Accepted, KeySet, Refusal, Refused, Scanned, Verdict, check_scan, read_scan
from kiosk.station.entry import EntryCodeRefused, EntryDoorChanged, EntryMachine, EntryRequested, UnlockEntryDoor
from kiosk.station.events import verdict_event
from kiosk.station.recovery import recover
from kiosk.station.selection import Cabinet, StartRefusal, SwapPolicy, can_start, charged_candidates
from kiosk.station.swap import (
    Alarm,
    BatteryRead,
    DoorChanged,
    MarkBayFaulted,
    Persist,
    ReadBattery,
    ReopenRequested,
    Show,
    SwapMachine,
    SwapRecord,
    SwapRequested,
    Tick,
    Unlock,
    UnlockFailed,
)
from kiosk.station.swap_record import Command, SwapOutcome, held_chargers
from kiosk.station.trusted_time import CodeTime, code_time
from kiosk.store import nonces, out_of_service, swaps
from kiosk.store.component import RecordingTransaction, StoreComponent

log = logging.getLogger(__name__)

TICK_S = 0.1
NO_SWAP = {
    StartRefusal.NO_CHARGED_BATTERY: "no charged battery here now: nothing was used, try again once one has charged",
    StartRefusal.NO_EMPTY_BAY: "no free bay for a returned battery here now: nothing was used, try again later",
}
"""Why a swap asked for on the screen cannot start (the local API's answer; the screen has its own words)."""
Input = Any  # a swap or entry machine input


@dataclass(frozen=True)
class CodeUse:
    """A code the next ``Persist`` records as used, in the same transaction as the flow's state change."""

    event: Event | None
    """Its ``code.accepted`` event (None for a session's swap: the identification recorded it)."""
    nonce: str
    rider_id: str
    use: str
    """One of :data:`kiosk.store.nonces.USES`; a session's swap claims the session instead."""
    session_swap: bool = False


class NonceSpent(KioskError):
    """A nonce turned out used when the flow came to record it (a bug elsewhere): the action is refused."""


@dataclass(frozen=True)
class RiderSwapRequested:
    """The identified rider asked on the screen for a swap (their code was checked when they identified)."""

    rider_id: str
    nonce: str


class StationController:
    """Runs the swap and entry flows of one station."""

    name = "station"
    optional = False

    def __init__(
        self,
        config: Config,
        *,
        clock: Clock,
        store: StoreComponent,
        cabinet: CabinetComponent,
        screen: ScreenFeed,
        boot_id: str,
        desk: RiderDesk | None = None,
        time: Callable[[], CodeTime] | None = None,
    ) -> None:
        self.config = config
        self.desk = desk
        self.time = time
        """What codes are checked against (``TimeKeeper.code_time``: the newest trusted time)."""
        self.clock = clock
        self.store = store
        self.cabinet = cabinet
        self.screen = screen
        self.boot_id = boot_id
        self.policy = self._policy(config.policy, require_battery_id=config.hardware.slots.port is not None)
        self.swaps = SwapMachine(self.policy, self._cabinet_view)
        self.registry: RegistryIndex | None = None
        """The hub's battery registry, from the bundle (None: never received; ``[batteries] without_registry``)."""
        self.charger_holds: Callable[[frozenset[int]], None] | None = None
        """Told which bays' chargers must stay off for the swap flow (the safety supervisor's ``hold_chargers``)."""
        self._held: frozenset[int] | None = None
        hw = config.hardware
        self._goods = frozenset(b.number for b in hw.bays if b.goods is not None)
        """Goods bays: the rider desk's, never part of a swap."""
        self._presence_only = frozenset(
            b.number for b in hw.bays if (hw.slots.port is None or b.slave is None) and b.number not in self._goods
        )
        self.entry = EntryMachine(config.hardware.entry_door.open_alarm_s)
        self.keyset = KeySet()
        self.revoked: frozenset[str] = frozenset()
        self.nearby: list[dict[str, Any]] = []
        self._keys_from_hub = False
        self._out_of_service: dict[int, str] = {}
        self._last_used: dict[int, float] = {}
        self._alarms: dict[int, float] = {}
        self._queue: asyncio.Queue[Input] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._reads: set[asyncio.Task[None]] = set()
        self._warnings: list[str] = []

    # --- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Load keys and bays out of service, reconcile swaps in flight, then listen to the cabinet."""
        if not self._keys_from_hub:
            self.keyset = self._load_keyset(self.config.codes.keyset_file)
        self._out_of_service.update(out_of_service.bays(self.store.store))
        # Listen to the doors before reconciling: a door that a reissued unlock opens while recovery is
        # still running must reach the machine (queued until the flows start below), or the swap waits for
        # an opening it already missed and a working lock is marked faulted.
        self.cabinet.add_bay_listener(self._on_bay)
        self.cabinet.add_entry_listener(self._on_entry_door)
        await self._recover()
        self.cabinet.add_scan_listener(self._on_scan)
        self._tasks = [
            asyncio.create_task(self._work(), name="station-flows"),
            asyncio.create_task(self._tick(), name="station-ticks"),
        ]

    async def close(self) -> None:
        """Stop taking inputs (a swap in flight stays recorded and resumes at the next start)."""
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _policy(self, policy: PolicyConfig, *, require_battery_id: bool) -> SwapPolicy:
        batteries = self.config.batteries
        return SwapPolicy.from_config(
            policy,
            require_battery_id=require_battery_id,
            soh_floor_pct=batteries.soh_floor_pct,
            without_registry=batteries.without_registry,
        )

    def use_bundle(
        self,
        *,
        keyset: KeySet,
        revoked: frozenset[str],
        nearby: list[dict[str, Any]],
        policy: PolicyConfig,
        registry: RegistryIndex | None = None,
    ) -> None:
        """Switch to what the hub's bundle says (the relay has checked it), the battery registry included."""
        self.registry = registry
        if len(keyset):
            self.keyset = keyset
            self._keys_from_hub = True
            self._warnings = [w for w in self._warnings if "key set" not in w]
        self.revoked = revoked
        self.nearby = nearby
        self.policy = self._policy(policy, require_battery_id=self.policy.require_battery_id)
        self.swaps.policy = self.policy

    def _load_keyset(self, path: Path) -> KeySet:
        try:
            keyset = KeySet.from_json(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            self._warnings.append(f"no key set at {path}: riders' codes cannot be checked until the hub sends one")
            return KeySet()
        except (OSError, KioskError) as exc:
            self._warnings.append(f"the key set {path} is unusable ({exc}); riders' codes cannot be checked")
            return KeySet()
        log.info("key set with %d key(s) loaded from %s", len(keyset), path)
        return keyset

    # --- inputs (on the loop) -------------------------------------------------------------------

    def _on_scan(self, scan: Scan) -> None:
        if scan.error is not None:
            self.screen.show("scan.unreadable", {"reason": scan.error}, mono=self.clock.monotonic())
            return
        self._queue.put_nowait(scan)

    def _on_bay(self, state: BayState) -> None:
        if state.door is DoorState.UNKNOWN:
            return
        if state.bay in self._goods:
            # A rider taking an item is no door the swap machine should wonder about.
            if self.desk is not None:
                self.desk.goods_door(state)
            return
        is_open = state.door is DoorState.OPEN
        if not is_open:
            self._alarms.pop(state.bay, None)
        self._queue.put_nowait(DoorChanged(state.bay, is_open, self.clock.monotonic()))

    def _on_entry_door(self, is_open: bool) -> None:
        self._queue.put_nowait(EntryDoorChanged(is_open, self.clock.monotonic()))

    def start_rider_swap(self, rider_id: str, nonce: str) -> None:
        """The identified rider asked on the screen for a swap; ``RiderConflict`` while one is under way, and
        ``NoSwapNow`` when none could be finished (judged from this cabinet's own bays, as the swap itself
        would be): refused before the code is used, so it still works once a battery has charged."""
        if self.swaps.busy:
            raise RiderConflict("a swap is under way: please wait until it has ended")
        plan = can_start(self._cabinet_view(), self.policy, self.clock.monotonic())
        if isinstance(plan, StartRefusal):
            raise NoSwapNow(plan.value, NO_SWAP[plan])
        self._queue.put_nowait(RiderSwapRequested(rider_id, nonce))

    def request_reopen(self) -> None:
        """The rider asked (on the screen) to open the return bay again."""
        self._queue.put_nowait(ReopenRequested(self.clock.monotonic()))

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(TICK_S)
            now = self.clock.monotonic()
            due = [d for d in (self.swaps.next_deadline(), self.entry.next_deadline()) if d is not None]
            if due and min(due) <= now:
                self._queue.put_nowait(Tick(now))

    async def _work(self) -> None:
        while True:
            item = await self._queue.get()
            try:
                await self._handle(item)
            except Exception:  # a bug in one input must not stop the station's flows
                log.exception("handling %s failed", type(item).__name__)

    async def _handle(self, item: Input) -> None:
        if isinstance(item, Scan):
            scanned = read_scan(item.text)  # parsed here, once; the parsed code travels from here on
            if self.desk is not None and self.desk.awaiting_scan:
                await self._identify(scanned)
            else:
                await self._scanned(scanned)
        elif isinstance(item, RiderSwapRequested):
            await self._rider_swap(item)
        elif isinstance(item, EntryDoorChanged):
            await self._run_entry(self.entry.handle(item))
        elif isinstance(item, Tick):
            await self._run(self.swaps.handle(item))
            await self._run_entry(self.entry.handle(item))
        else:
            await self._run(self.swaps.handle(item))

    # --- codes ------------------------------------------------------------------------------

    def _code_time(self) -> CodeTime:
        if self.time is not None:
            return self.time()
        clock = self.clock  # no trusted time kept: the station's own clock, as a lower bound unless synchronised
        return code_time(None, wall=clock.wall(), wall_synced=clock.wall_synced(), boot_id=self.boot_id, mono=0.0)

    def _verify_any(self, scanned: Scanned) -> tuple[Verdict, Scope]:
        """Check a code for a swap, or for the entry when it is an entry code; the verdict and the scope it is for."""
        moment = self._code_time()
        return check_scan(
            scanned,
            keyset=self.keyset,
            revoked_riders=self.revoked,
            nonce_seen=self._nonce_seen,
            now=moment.now,
            skew_s=self.config.policy.code_clock_skew_s,
            lower_bound=moment.lower_bound,
        )

    def _nonce_seen(self, nonce: str) -> bool:
        return nonces.nonce_used(self.store.store, nonce)

    def _show_refusal(self, reason: Refusal) -> None:
        self.screen.show(
            "code.refused",
            {"reason": reason.value, "message_zh": reason.message_zh, "message_en": reason.message_en},
            mono=self.clock.monotonic(),
        )

    async def _identify(self, scanned: Scanned) -> None:
        """The rider scanned because the screen asked who they are: accept the code (its nonce) or refuse it."""
        assert self.desk is not None
        verdict, scope = self._verify_any(scanned)
        if isinstance(verdict, Refused):
            self.store.append(verdict_event(verdict, scope))
            self._show_refusal(verdict.reason)
            return
        code = verdict.code
        with self.store.transaction() as tx:
            tx.append(verdict_event(verdict, scope))
            self._use_nonce(tx, CodeUse(None, code.nonce_hex, code.rider_id, nonces.SESSION))
        # A code shown while someone else's swap runs never starts one, not even later from its session.
        self._tell_desk(code, identifying=True, can_swap=code.allows(Scope.SWAP) and not self.swaps.busy)

    def _tell_desk(self, code: RiderCode, *, identifying: bool = False, can_swap: bool = False) -> None:
        """Open the rider's session; ``can_swap`` only for an identification (a scan's swap was its one use)."""
        if self.desk is None:
            return
        try:
            self.desk.code_accepted(code, can_swap=can_swap, identifying=identifying)
        except Exception:  # the swap or entry went ahead; a desk failure must not undo that
            log.exception("the rider desk could not take an accepted code")

    async def _rider_swap(self, item: RiderSwapRequested) -> None:
        now = self.clock.monotonic()
        if self.swaps.busy:
            self.screen.show("swap.busy", {}, mono=now)
            return
        if nonces.nonce_use(self.store.store, item.nonce) != nonces.SESSION:
            # The session's code has started its swap already (or never opened a session): one code, one swap.
            log.warning("rider %s asked for a second swap with one code; refused", item.rider_id)
            refused = Refused(Refusal.NONCE_USED, rider_id=item.rider_id)
            self.store.append(verdict_event(refused, Scope.SWAP))
            self._show_refusal(Refusal.NONCE_USED)
            return
        since = self._since_last_swap(item.rider_id)
        use = CodeUse(None, item.nonce, item.rider_id, nonces.SWAP, session_swap=True)
        await self._run(self.swaps.handle(SwapRequested(new_id(), item.rider_id, item.nonce, now, since)), accepted=use)

    async def _scanned(self, scanned: Scanned) -> None:
        verdict, scope = self._verify_any(scanned)
        now = self.clock.monotonic()
        if isinstance(verdict, Refused):
            self.store.append(verdict_event(verdict, scope))
            if scope is Scope.ENTRY:
                await self._run_entry(self.entry.handle(EntryCodeRefused(verdict.reason.value, now, verdict.rider_id)))
                return
            self._show_refusal(verdict.reason)
            return
        if await self._accepted(verdict, scope, now):
            self._tell_desk(verdict.code)

    async def _accepted(self, verdict: Accepted, scope: Scope, now: float) -> bool:
        """Start the entry or the swap; False when the code was not acted on (the cabinet is busy)."""
        code = verdict.code
        accepted = verdict_event(verdict, scope)
        if scope is Scope.ENTRY:
            commands = self.entry.handle(EntryRequested(code.rider_id, code.nonce_hex, now))
            await self._run_entry(commands, accepted=CodeUse(accepted, code.nonce_hex, code.rider_id, nonces.ENTRY))
            return True
        if self.swaps.busy:
            # Not acted on: no session, no check-in, the nonce stays unused for when the cabinet is free.
            self.screen.show("swap.busy", {}, mono=now)
            return False
        request = SwapRequested(new_id(), code.rider_id, code.nonce_hex, now, self._since_last_swap(code.rider_id))
        await self._run(
            self.swaps.handle(request), accepted=CodeUse(accepted, code.nonce_hex, code.rider_id, nonces.SWAP)
        )
        return True

    def _since_last_swap(self, rider_id: str) -> float | None:
        last = swaps.last_ended(self.store.store, rider_id, SwapOutcome.COMPLETED.value)
        if last is None:
            return None
        return max(0.0, (self.clock.wall() - last).total_seconds())

    # --- carrying out commands -------------------------------------------------------------------

    def _cabinet_view(self) -> Cabinet:
        bays = {n: s for n, s in self.cabinet.bays().items() if n not in self._goods}
        readings = {n: r for n, r in self.cabinet.batteries().items() if n not in self._goods}
        for number in self._presence_only:
            state = bays.get(number)
            if state is not None and state.presence is not None:
                # A bay without a slot controller is known by its presence switch alone; without this the
                # selection sees no battery anywhere and a GPIO-only cabinet could never hand one out.
                readings[number] = BatteryReading(bay=number, present=state.presence)
        return Cabinet(
            bays=bays,
            readings=readings,
            out_of_service=frozenset(self._out_of_service),
            last_used=dict(self._last_used),
            registry=self.registry,
        )

    def _persist(self, command: Persist, accepted: CodeUse | None) -> None:
        with self.store.transaction() as tx:
            if accepted is not None:
                # Refused swaps use the code too: the station acted on it (a session, a check-in).
                self._use_nonce(tx, accepted)
            if command.swap is not None:
                self._save_swap(tx, command.swap)
            tx.append_many(command.events)

    def _use_nonce(self, tx: RecordingTransaction, use: CodeUse) -> None:
        """Record the code's use in ``tx``; :class:`NonceSpent` (rolling ``tx`` back) when it was used already."""
        if use.event is not None:
            tx.append(use.event)
        if use.session_swap:
            recorded = nonces.claim_session_swap(tx, use.nonce)
        else:
            recorded = nonces.spend_nonce(tx, use.nonce, rider_id=use.rider_id, use=use.use, at=self.clock.wall())
        if not recorded:
            raise NonceSpent(f"the code with nonce {use.nonce} was already used")

    def _save_swap(self, tx: RecordingTransaction, record: SwapRecord) -> None:
        swaps.save(
            tx,
            swap_id=record.swap_id,
            rider_id=record.rider_id,
            state=record.state.value,
            outcome=record.outcome.value if record.outcome else None,
            record={"boot_id": self.boot_id, "swap": record.as_dict()},
            wall=self.clock.wall(),
        )

    def _tell_holds(self) -> None:
        held = held_chargers(self.swaps.current, self._out_of_service)
        if held != self._held and self.charger_holds is not None:
            self._held = held
            self.charger_holds(held)

    async def _run(self, commands: list[Command], accepted: CodeUse | None = None) -> None:
        try:
            await self._carry_out(commands, accepted)
        finally:
            self._tell_holds()

    async def _carry_out(self, commands: list[Command], accepted: CodeUse | None) -> None:
        for command in commands:
            if isinstance(command, Persist):
                self._persist(command, accepted)
                accepted = None
                self._tell_holds()  # the return bay's charger is held off as soon as the swap is on disk
            elif isinstance(command, Unlock):
                await self._unlock(command.bay)
            elif isinstance(command, ReadBattery):
                task = asyncio.create_task(self._read(command.bay), name=f"read-bay-{command.bay}")
                self._reads.add(task)
                task.add_done_callback(self._reads.discard)
            elif isinstance(command, Show):
                params = dict(command.params)
                if command.screen == "swap.refused":
                    params["nearby"] = self.nearby[:5]  # where this rider can get a charged battery now
                self.screen.show(command.screen, params, mono=self.clock.monotonic())
            elif isinstance(command, MarkBayFaulted):
                self._take_out_of_service(command.bay, command.reason)
            elif isinstance(command, Alarm):
                self._alarms[command.bay] = command.open_for_s

    async def _run_entry(self, commands: list[Any], accepted: CodeUse | None = None) -> None:
        for command in commands:
            if isinstance(command, Persist):
                self._persist(command, accepted)
                accepted = None
            elif isinstance(command, UnlockEntryDoor):
                try:
                    await self.cabinet.unlock_entry()
                except (DeviceError, RuntimeError) as exc:
                    log.error("the entry door did not open: %s", exc)
                    self.screen.show("entry.fault", {"reason": str(exc)}, mono=self.clock.monotonic())
            elif isinstance(command, Show):
                self.screen.show(command.screen, dict(command.params), mono=self.clock.monotonic())

    async def _unlock(self, bay: int) -> None:
        try:
            await self.cabinet.unlock(bay)
        except (DeviceError, RuntimeError) as exc:
            self._queue.put_nowait(UnlockFailed(bay, str(exc), self.clock.monotonic()))
            return
        self._last_used[bay] = self.clock.monotonic()

    async def _read(self, bay: int) -> None:
        reading = await self.cabinet.read_battery(bay)
        self._queue.put_nowait(BatteryRead(bay, reading, self.clock.monotonic()))

    def _take_out_of_service(self, bay: int, reason: str, audit: Event | None = None) -> None:
        self._out_of_service[bay] = reason
        with self.store.transaction() as tx:
            out_of_service.take_out(tx, bay, reason, self.clock.wall())
            if audit is not None:
                tx.append(audit)

    def set_out_of_service(self, bay: int, reason: str | None, audit: Event | None = None) -> None:
        """Staff take a bay out of service (``reason``) or bring it back (None); kept in SQLite.

        ``audit`` (who did it) is written in the same transaction as the change. The swap flow never picks
        a bay out of service. Raises ``ValueError`` for a bay the cabinet lacks.
        """
        if bay not in {b.number for b in self.config.hardware.bays}:
            raise ValueError(f"this cabinet has no bay {bay}")
        if reason is not None:
            self._take_out_of_service(bay, reason, audit)
            return
        self._out_of_service.pop(bay, None)
        with self.store.transaction() as tx:
            out_of_service.bring_back(tx, bay)
            if audit is not None:
                tx.append(audit)

    def swap_outcomes(self) -> dict[str, int]:
        """How many swaps ended with each outcome (for ``/metrics``)."""
        return swaps.outcomes(self.store.store)

    # --- recovery ---------------------------------------------------------------------------

    async def _recover(self) -> None:
        for saved in swaps.in_flight(self.store.store):
            record = SwapRecord.from_dict(saved["swap"])
            same_boot = saved.get("boot_id") == self.boot_id
            readings = {bay: await self.cabinet.read_battery(bay) for bay in record.bays()}
            commands = recover(
                self.swaps, record, self.cabinet.bays(), readings, self.clock.monotonic(), same_boot=same_boot
            )
            log.warning("swap %s was in flight (%s); reconciling with the sensors", record.swap_id, record.state.value)
            await self._run(commands)

    # --- status -------------------------------------------------------------------------------

    def charged_batteries(self) -> int:
        """How many batteries this station could hand out now (for the hub's nearby-stations view)."""
        return len(charged_candidates(self._cabinet_view(), self.policy, self.clock.monotonic()))

    def get_status(self) -> dict[str, Any]:
        """The swap in flight, bays out of service, keys, and warnings."""
        current = self.swaps.current
        warnings = list(self._warnings)
        warnings += [f"bay {bay} out of service: {reason}" for bay, reason in sorted(self._out_of_service.items())]
        warnings += [f"bay {bay} door open for {secs:.0f} s" for bay, secs in sorted(self._alarms.items())]
        registry = self.registry
        if registry is None and self.policy.without_registry == "refuse":
            warnings.append("no battery registry from the hub yet: every returned battery is refused")
        return {
            "battery_registry": {"received": False, "returned_batteries": self.policy.without_registry}
            if registry is None
            else {
                "received": True,
                "revision": registry.revision,
                "in_service": registry.in_service,
                "retired": registry.retired_count,
            },
            "swap": current.as_dict() if current is not None else None,
            "out_of_service": {str(b): r for b, r in sorted(self._out_of_service.items())},
            "keys": [info.kid for info in self.keyset],
            "charged_batteries": self.charged_batteries(),
            "screen": self.screen.current.name,
            "warnings": warnings,
        }
