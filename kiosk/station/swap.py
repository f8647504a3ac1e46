"""The battery swap as a pure state machine: inputs in, an ordered list of commands out. No I/O, no clock.

The app feeds :class:`SwapMachine.handle` with what happened (a verified code, a door, a battery read, a
failed unlock, the time) and carries out the returned commands strictly in order. A :class:`Persist`
writes the swap row and its events in one transaction and must succeed before any later command runs:
that is how "opening bay 3" is on disk before bay 3's lock is pulsed, and how a restart knows what was
in flight (:mod:`kiosk.station.recovery`).

Rules where the issue is silent (the module docstring of each helper says why):

- Every wait runs from the unlock. A door seen open when its wait ends is not cut short: the rider is
  probably in the middle of it. The swap then ends ``door_open_alarm_s`` later at the latest, deciding
  from the cabinet's latest sensor state; the door alarm has been raised by then.
- The return bay closed with nothing in it: its lock has relatched, so the rider may ask (a button on the
  screen, :class:`ReopenRequested`) to open it again, at most ``MAX_REOPENS`` times, until the insert
  time ends; then the swap ends abandoned. Opening it by itself would leave an open bay behind a rider
  who walked away.
- A returned battery is never kept unless the rider gets a charged one: when the charged bay cannot be
  opened (no battery left, locks failing) the return bay opens again so the rider takes theirs back.
- The charged bay is never unlocked twice in one swap: a rider who closes it without taking the
  battery ends the swap ``not_collected``.
- A returned pack the hub's battery registry does not know, or knows as retired, or whose BMS reports a
  state of health below the floor, is refused like a foreign one (the return bay opens again, no charged
  battery is handed out) and recorded as ``battery.refused``. With no registry, ``without_registry``
  decides; a pack accepted so is marked ``unverified`` in its ``swap.battery_returned``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Literal

from kiosk.core.battery_events import BatteryRefused
from kiosk.core.events import Event
from kiosk.devices.base import BatteryReading
from kiosk.station.selection import (
    REGISTRY_REFUSALS,
    Cabinet,
    ReturnVerdict,
    StartRefusal,
    SwapPolicy,
    can_start,
    charged_candidates,
    holds_battery,
    judge_return,
    return_candidates,
)
from kiosk.station.swap_events import (
    BayFaulted,
    DoorAlarm,
    SwapBatteryRejected,
    SwapBatteryReturned,
    SwapBayOpened,
    SwapBayUnlocking,
    SwapChargedChosen,
    SwapDoorClosed,
    SwapNoBattery,
    SwapRefused,
    SwapReopenRequested,
    SwapStarted,
    SwapUnexpectedDoor,
)
from kiosk.station.swap_record import (
    DOOR_MAY_BE_OPEN,
    DOOR_OPEN,
    IN_FLIGHT,
    ON_CLOSE,
    ON_OPEN,
    READING,
    REFUSED_LEFT,
    REFUSED_PACK_REASONS,
    REJECT_OUTCOME,
    RETURNED_BATTERY_KEPT,
    STEPS_OF_ROLE,
    UNLOCKING,
    Alarm,
    BatteryRead,
    Command,
    DoorChanged,
    MarkBayFaulted,
    Persist,
    ReadBattery,
    RejectReason,
    ReopenRequested,
    Show,
    Step,
    SwapInput,
    SwapOutcome,
    SwapRecord,
    SwapRequested,
    SwapState,
    Tick,
    Unlock,
    UnlockFailed,
    ended_event,
)
from kiosk.station.swap_time import role_wait_s, state_deadline

__all__ = [
    "DOOR_MAY_BE_OPEN",
    "DOOR_OPEN",
    "IN_FLIGHT",
    "MAX_REOPENS",
    "READING",
    "RETURNED_BATTERY_KEPT",
    "UNLOCKING",
    "Alarm",
    "BatteryRead",
    "Command",
    "DoorChanged",
    "MarkBayFaulted",
    "Persist",
    "ReadBattery",
    "ReopenRequested",
    "Show",
    "Step",
    "SwapInput",
    "SwapMachine",
    "SwapOutcome",
    "SwapPolicy",
    "SwapRecord",
    "SwapRequested",
    "SwapState",
    "Tick",
    "Unlock",
    "UnlockFailed",
    "ended_event",
]

S = SwapState

MAX_REOPENS = 2
"""How often a rider may ask to reopen the return bay after closing it empty."""


# --- the machine ----------------------------------------------------------------------------------


class SwapMachine:
    """One swap at a time. ``cabinet`` returns the app's current view of the bays (no I/O expected)."""

    def __init__(self, policy: SwapPolicy, cabinet: Callable[[], Cabinet]) -> None:
        self.policy = policy
        self._cabinet = cabinet
        self._swap: SwapRecord | None = None
        self.last_ended: SwapRecord | None = None
        """The record of the swap that ended last (for status pages and tests)."""
        self._open_since: dict[int, float] = {}
        self._alarmed: set[int] = set()
        self._read_since = 0.0
        self._read_failures = 0

    @property
    def current(self) -> SwapRecord | None:
        """The swap in flight, or None when idle."""
        return self._swap

    @property
    def busy(self) -> bool:
        """True while a swap is in flight."""
        return self._swap is not None

    def adopt(self, record: SwapRecord, now: float) -> None:
        """Carry on with a swap a restart resumed (:func:`kiosk.station.recovery.reconcile` decided how)."""
        if record.state is S.ENDED:
            raise ValueError("an ended swap cannot be adopted")
        self._swap = record
        self._open_since = {}
        self._alarmed = set()
        bay = record.current_bay
        if record.state in DOOR_OPEN and bay is not None:
            self._open_since[bay] = now
        self._read_since, self._read_failures = now, 0

    def handle(self, event: SwapInput) -> list[Command]:
        """Apply one input; the commands to carry out, in order."""
        if isinstance(event, SwapRequested):
            return self._on_request(event)
        swap = self._swap
        if swap is None:
            return []
        if isinstance(event, DoorChanged):
            return self._on_door(swap, event)
        if isinstance(event, BatteryRead):
            if swap.state in READING and event.bay == swap.current_bay:
                return self._on_read(swap, event.reading, event.now)
            return []  # a stale answer to a read the flow no longer waits for
        if isinstance(event, UnlockFailed):
            if swap.state in UNLOCKING and event.bay == swap.current_bay:
                return self._lock_failed(swap, event.reason, event.now)
            return []
        if isinstance(event, ReopenRequested):
            return self._on_reopen(swap, event.now)
        return self._on_tick(swap, event.now)

    def next_deadline(self) -> float | None:
        """The monotonic time at which a :class:`Tick` will make something happen (None: nothing pending)."""
        swap = self._swap
        if swap is None:
            return None
        times = [
            since + self.policy.door_open_alarm_s for b, since in self._open_since.items() if b not in self._alarmed
        ]
        deadline = self._state_deadline(swap)
        if deadline is not None:
            times.append(deadline)
        return min(times) if times else None

    # --- transitions ---------------------------------------------------------------------------

    def _save(self, record: SwapRecord, *events: Event) -> Persist:
        if record.state is S.ENDED:
            self._swap, self.last_ended = None, record
            self._open_since, self._alarmed = {}, set()
        else:
            self._swap = record
        return Persist(record, events)

    def _on_request(self, req: SwapRequested) -> list[Command]:
        if self._swap is not None:
            return [Show("swap.busy")]
        policy = self.policy
        base = SwapRecord(req.swap_id, req.rider_id, req.nonce, S.ENDED, steps={Step.REQUESTED: req.now})
        limit_s = policy.min_minutes_between_swaps * 60.0
        if req.since_last_swap_s is not None and req.since_last_swap_s < limit_s:
            wait_s = round(limit_s - req.since_last_swap_s, 1)
            return self._refuse(base, "too_soon", SwapOutcome.TOO_SOON, req.now, wait_s)
        plan = can_start(self._cabinet(), policy, req.now)
        if isinstance(plan, StartRefusal):
            return self._refuse(base, plan.value, SwapOutcome.NO_CAPACITY, req.now)
        record = replace(
            base,
            state=S.OPENING_RETURN,
            return_bay=plan.return_bay,
            attempts=1,
            steps={**base.steps, Step.RETURN_UNLOCKED: req.now},
        )
        started = SwapStarted(
            swap_id=req.swap_id,
            rider_id=req.rider_id,
            return_bay=plan.return_bay,
            charged_bay_planned=plan.charged_bay,
        )
        return [
            self._save(record, started, self._unlocking(record)),
            Unlock(plan.return_bay),
            Show("swap.open_return_bay", {"bay": plan.return_bay, "seconds": policy.insert_timeout_s}),
        ]

    def _refuse(
        self,
        base: SwapRecord,
        reason: Literal["too_soon", "no_empty_bay", "no_charged_battery"],
        outcome: SwapOutcome,
        now: float,
        wait_s: float | None = None,
    ) -> list[Command]:
        record = replace(base, outcome=outcome, detail=reason, steps={**base.steps, Step.ENDED: now})
        event = SwapRefused(swap_id=base.swap_id, rider_id=base.rider_id, reason=reason, wait_s=wait_s)
        params: dict[str, object] = {"reason": reason}
        if wait_s is not None:
            params["wait_s"] = wait_s
        # Persisted without becoming current: nothing opened, so there is nothing to recover.
        self.last_ended = record
        return [Persist(record, (event,)), Show("swap.refused", params)]

    def _unlocking(self, record: SwapRecord) -> SwapBayUnlocking:
        bay, role = record.current_bay, record.role
        assert bay is not None
        assert role is not None
        return SwapBayUnlocking(swap_id=record.swap_id, bay=bay, role=role, attempt=record.attempts)

    def _on_door(self, swap: SwapRecord, event: DoorChanged) -> list[Command]:
        bay = event.bay
        if bay not in swap.bays():
            return []  # other bays are the cabinet monitor's business
        newly_open = event.open and bay not in self._open_since
        if event.open:
            self._open_since.setdefault(bay, event.now)
        else:
            self._open_since.pop(bay, None)
            self._alarmed.discard(bay)
        if bay != swap.current_bay:
            if newly_open:
                return [self._save(swap, SwapUnexpectedDoor(swap_id=swap.swap_id, bay=bay))]
            return []
        role = swap.role
        assert role is not None
        _, opened, closed = STEPS_OF_ROLE[role]
        if event.open and swap.state in ON_OPEN:
            record = replace(swap, state=ON_OPEN[swap.state], steps={**swap.steps, opened: event.now})
            return [self._save(record, SwapBayOpened(swap_id=swap.swap_id, bay=bay, role=role))]
        if not event.open and swap.state in ON_CLOSE:
            record = replace(swap, state=ON_CLOSE[swap.state], steps={**swap.steps, closed: event.now})
            self._read_since, self._read_failures = event.now, 0
            return [self._save(record, SwapDoorClosed(swap_id=swap.swap_id, bay=bay, role=role)), ReadBattery(bay)]
        return []

    def _on_read(self, swap: SwapRecord, reading: BatteryReading, now: float) -> list[Command]:
        if reading.error is not None:
            return self._read_failed(swap, reading.error, now)
        if swap.state is S.READING_COLLECT:
            if reading.present:
                return self._end(swap, SwapOutcome.NOT_COLLECTED, now, "the charged battery was not taken", left=True)
            record = replace(swap, charged_battery_id=swap.charged_battery_id or reading.battery_id)
            return self._end(record, SwapOutcome.COMPLETED, now, "swap completed", left=False)
        if swap.state is S.READING_TAKE_BACK:
            reason = swap.reject_reason or "foreign"
            left = reading.present
            detail = "the rider did not take the battery back" if left else "the rider took the battery back"
            return self._end(swap, REJECT_OUTCOME[reason], now, detail, left=left)
        return self._judge_return(swap, reading, now)

    def _judge_return(self, swap: SwapRecord, reading: BatteryReading, now: float) -> list[Command]:
        registry = self._cabinet().registry
        verdict = judge_return(reading, self.policy, registry)
        bay = swap.return_bay
        assert bay is not None
        if verdict is ReturnVerdict.ABSENT:
            record = replace(swap, state=S.RETURN_EMPTY)
            return [
                self._save(record, SwapNoBattery(swap_id=swap.swap_id, bay=bay)),
                Show("swap.no_battery", {"bay": bay, "can_reopen": swap.reopens < MAX_REOPENS}),
            ]
        record = replace(swap, returned_battery_id=reading.battery_id, returned_soc_pct=reading.soc_pct)
        if verdict is ReturnVerdict.FOREIGN:
            return self._reject(record, "foreign", now, reading)
        if verdict is ReturnVerdict.FAULTY:
            return self._reject(record, "faulty", now, reading)
        if verdict in REGISTRY_REFUSALS:
            refused = BatteryRefused(
                swap_id=swap.swap_id,
                bay=bay,
                battery_id=reading.battery_id,
                reason=verdict.value,  # UNKNOWN, RETIRED or LOW_SOH: the words of RefusalReason
                soh_pct=reading.soh_pct,
                cycles=reading.cycles,
                temperature_c=reading.temperature_c,
                soh_floor_pct=self.policy.soh_floor_pct,
                registry=None if registry is None else registry.revision,
            )
            reason: RejectReason = verdict.value
            return self._reject(record, reason, now, reading, (refused,))
        returned = SwapBatteryReturned(
            swap_id=swap.swap_id,
            bay=bay,
            battery_id=reading.battery_id,
            soc_pct=reading.soc_pct,
            temperature_c=reading.temperature_c,
            soh_pct=reading.soh_pct,
            cycles=reading.cycles,
            unverified=registry is None and reading.battery_id is not None,
        )
        return self._open_charged(record, now, (returned,), ())

    def _open_charged(
        self, swap: SwapRecord, now: float, events: tuple[Event, ...], before_unlock: tuple[Command, ...]
    ) -> list[Command]:
        """Choose the charged bay now (the cabinet may have changed since the start) and open it."""
        exclude = swap.bays()
        cabinet = self._cabinet()
        choices = charged_candidates(cabinet, self.policy, now, exclude)
        if not choices:
            reason: RejectReason = "no_charged_battery" if swap.charged_bay is None else "bay_fault"
            return self._reject(swap, reason, now, None, events, before_unlock)
        bay = choices[0]
        reading = cabinet.readings.get(bay)
        attempts = swap.attempts + 1 if swap.state is S.OPENING_CHARGED else 1
        record = replace(
            swap,
            state=S.OPENING_CHARGED,
            charged_bay=bay,
            charged_battery_id=None if reading is None else reading.battery_id,
            charged_soc_pct=None if reading is None else reading.soc_pct,
            attempts=attempts,
            steps={**swap.steps, Step.CHARGED_UNLOCKED: now},
        )
        chosen = SwapChargedChosen(
            swap_id=swap.swap_id, bay=bay, battery_id=record.charged_battery_id, soc_pct=record.charged_soc_pct
        )
        return [
            self._save(record, *events, chosen, self._unlocking(record)),
            *before_unlock,
            Unlock(bay),
            Show("swap.take_charged", {"bay": bay, "seconds": self.policy.collect_timeout_s}),
        ]

    def _reject(
        self,
        swap: SwapRecord,
        reason: RejectReason,
        now: float,
        reading: BatteryReading | None,
        events: tuple[Event, ...] = (),
        before_unlock: tuple[Command, ...] = (),
    ) -> list[Command]:
        """Open the return bay again so the rider takes their battery back."""
        bay = swap.return_bay
        assert bay is not None
        params: dict[str, object] = {"bay": bay, "reason": reason, "seconds": self.policy.collect_timeout_s}
        if events and isinstance(events[-1], BatteryRefused):
            params["battery_id"] = swap.returned_battery_id  # the screen names the pack the registry refused
        record = replace(
            swap,
            state=S.REJECTING_RETURN,
            reject_reason=reason,
            attempts=1,
            steps={**swap.steps, Step.TAKE_BACK_UNLOCKED: now},
        )
        rejected = SwapBatteryRejected(
            swap_id=swap.swap_id,
            bay=bay,
            reason=reason,
            battery_id=swap.returned_battery_id,
            fault_flags=[] if reading is None else sorted(reading.fault_flags),
        )
        return [
            self._save(record, *events, rejected, self._unlocking(record)),
            *before_unlock,
            Unlock(bay),
            Show("swap.take_back", params),
        ]

    def _read_failed(self, swap: SwapRecord, error: str, now: float) -> list[Command]:
        bay = swap.current_bay
        assert bay is not None
        self._read_failures += 1
        if self._read_failures < self.policy.read_attempts:
            self._read_since = now
            return [ReadBattery(bay)]
        reason = f"battery could not be read: {error}"
        faulted = BayFaulted(bay=bay, reason=reason, swap_id=swap.swap_id)
        mark = MarkBayFaulted(bay, reason)
        if swap.state is S.READING_RETURN:
            # The battery cannot be judged, so it is not kept: the rider takes it back; the bay leaves service.
            return self._reject(swap, "unreadable", now, None, (faulted,), (mark,))
        if swap.state is S.READING_TAKE_BACK:
            outcome = REJECT_OUTCOME[swap.reject_reason or "unreadable"]
            return self._end(swap, outcome, now, reason, left=None, events=(faulted,), after=(mark,))
        # The charged bay: whether the battery left is unknown, so the bay leaves service until staff look.
        return self._end(swap, SwapOutcome.BAY_FAULT, now, reason, left=None, events=(faulted,), after=(mark,))

    def _lock_failed(self, swap: SwapRecord, reason: str, now: float) -> list[Command]:
        bay = swap.current_bay
        assert bay is not None
        record = replace(swap, faulted_bays=(*swap.faulted_bays, bay))
        events: tuple[Event, ...] = (BayFaulted(bay=bay, reason=reason, swap_id=swap.swap_id),)
        mark = MarkBayFaulted(bay, reason)
        more = swap.attempts < self.policy.max_bay_attempts
        if swap.state is S.OPENING_CHARGED:
            if more:
                return self._open_charged(record, now, events, (mark,))
            return self._reject(record, "bay_fault", now, None, events, (mark,))
        if swap.state is S.REJECTING_RETURN:
            outcome = REJECT_OUTCOME[swap.reject_reason or "bay_fault"]
            detail = f"the battery could not be given back: {reason}"
            return self._end(record, outcome, now, detail, left=True, events=events, after=(mark,))
        choices = return_candidates(self._cabinet(), record.bays()) if more else []
        if not choices:
            return self._end(record, SwapOutcome.BAY_FAULT, now, reason, left=False, events=events, after=(mark,))
        record = replace(
            record, return_bay=choices[0], attempts=swap.attempts + 1, steps={**swap.steps, Step.RETURN_UNLOCKED: now}
        )
        return [
            self._save(record, *events, self._unlocking(record)),
            mark,
            Unlock(choices[0]),
            Show("swap.open_return_bay", {"bay": choices[0], "seconds": self.policy.insert_timeout_s}),
        ]

    def _on_reopen(self, swap: SwapRecord, now: float) -> list[Command]:
        if swap.state is not S.RETURN_EMPTY or swap.reopens >= MAX_REOPENS:
            return []
        bay = swap.return_bay
        assert bay is not None
        record = replace(
            swap, state=S.OPENING_RETURN, reopens=swap.reopens + 1, steps={**swap.steps, Step.RETURN_UNLOCKED: now}
        )
        return [
            self._save(record, SwapReopenRequested(swap_id=swap.swap_id, bay=bay), self._unlocking(record)),
            Unlock(bay),
            Show("swap.open_return_bay", {"bay": bay, "seconds": self.policy.insert_timeout_s}),
        ]

    def _end(
        self,
        swap: SwapRecord,
        outcome: SwapOutcome,
        now: float,
        detail: str,
        *,
        left: bool | None,
        events: tuple[Event, ...] = (),
        after: tuple[Command, ...] = (),
    ) -> list[Command]:
        record = replace(swap, state=S.ENDED, outcome=outcome, detail=detail, steps={**swap.steps, Step.ENDED: now})
        bay = swap.return_bay
        marked = any(isinstance(c, MarkBayFaulted) and c.bay == bay for c in after)
        if swap.reject_reason in REFUSED_PACK_REASONS and left is not False and bay is not None and not marked:
            # A refused pack may still be in the bay: the bay leaves service (its charger stays off, it is
            # never handed out) until staff have taken the pack out.
            events = (*events, BayFaulted(bay=bay, reason=REFUSED_LEFT, swap_id=swap.swap_id))
            after = (*after, MarkBayFaulted(bay, REFUSED_LEFT))
        return [
            self._save(record, *events, ended_event(record, left)),
            *after,
            Show("swap.done", {"bay": record.charged_bay})
            if outcome is SwapOutcome.COMPLETED
            else Show("swap.ended", {"outcome": outcome.value, "detail": detail}),
        ]

    # --- time ----------------------------------------------------------------------------------

    def _state_deadline(self, swap: SwapRecord) -> float | None:
        return state_deadline(swap, self.policy, read_since=self._read_since)

    def _on_tick(self, swap: SwapRecord, now: float) -> list[Command]:
        out: list[Command] = []
        for bay, since in sorted(self._open_since.items()):
            open_for = now - since
            if bay not in self._alarmed and open_for >= self.policy.door_open_alarm_s:
                self._alarmed.add(bay)
                alarm = DoorAlarm(door="bay", bay=bay, open_for_s=round(open_for, 1), swap_id=swap.swap_id)
                out += [self._save(swap, alarm), Alarm(bay, round(open_for, 1))]
        deadline = self._state_deadline(swap)
        if deadline is None or now < deadline:
            return out
        return out + self._deadline_passed(swap, now)

    def _deadline_passed(self, swap: SwapRecord, now: float) -> list[Command]:
        policy = self.policy
        wait_s = role_wait_s(swap.role, policy)
        if swap.state in UNLOCKING:
            confirm = policy.unlock_confirm_s
            if confirm is not None and confirm <= wait_s:
                return self._lock_failed(swap, f"door did not open within {confirm:g} s of the unlock", now)
            return self._never_opened(swap, now)
        if swap.state in READING:
            return self._read_failed(swap, f"no answer within {policy.read_timeout_s:g} s", now)
        if swap.state is S.RETURN_EMPTY:
            return self._end(swap, SwapOutcome.ABANDONED, now, "no battery was put in", left=False)
        return self._door_left_open(swap, now)

    def _never_opened(self, swap: SwapRecord, now: float) -> list[Command]:
        """The wait ended before the door was ever seen open (only when unlock confirmation is off)."""
        if swap.state is S.OPENING_RETURN:
            return self._end(swap, SwapOutcome.ABANDONED, now, "the return bay was not opened", left=False)
        if swap.state is S.OPENING_CHARGED:
            return self._end(swap, SwapOutcome.NOT_COLLECTED, now, "the charged bay was not opened", left=True)
        outcome = REJECT_OUTCOME[swap.reject_reason or "foreign"]
        return self._end(swap, outcome, now, "the battery was not taken back", left=True)

    def _door_left_open(self, swap: SwapRecord, now: float) -> list[Command]:
        """The door stayed open well past its wait: end on the cabinet's latest sensor state."""
        bay = swap.current_bay
        assert bay is not None
        cabinet = self._cabinet()
        reading = cabinet.readings.get(bay)
        present = holds_battery(cabinet.bays.get(bay), reading)
        record = replace(swap, door_left_open=True)
        if swap.state is S.AWAIT_COLLECT:
            if present is False:
                return self._end(record, SwapOutcome.COMPLETED, now, "completed; the door was left open", left=False)
            return self._end(record, SwapOutcome.NOT_COLLECTED, now, "the door was left open", left=present)
        if swap.state is S.AWAIT_TAKE_BACK:
            outcome = REJECT_OUTCOME[swap.reject_reason or "foreign"]
            return self._end(record, outcome, now, "the door was left open", left=present)
        if present and reading is not None and reading.error is None:
            # Never forget a returned battery, even from a rider who walked away.
            record = replace(record, returned_battery_id=reading.battery_id, returned_soc_pct=reading.soc_pct)
        return self._end(record, SwapOutcome.ABANDONED, now, "the door was left open", left=present)
