"""Startup reconciliation: a swap found in flight after a crash or power loss is finished from the sensors.

The record says what the station *meant* to do; the bay's door switch and battery presence say what
happened. The rules, for the swap's current bay:

- **Door open**: someone is at the bay. The swap resumes waiting for the door to close (its waits start
  again now), whatever the record says; nothing is unlocked.
- **Door closed, presence known**: decided from the battery, never by opening anything the flow does
  not need:

  ========================  ===============================  ======================================
  role                      battery in the bay               no battery in the bay
  ========================  ===============================  ======================================
  return (4 states)         fresh: read it and go on;        fresh: unlock again if it never opened,
                            else ended *abandoned* with the  else wait for a reopen request;
                            battery recorded                 else ended *abandoned*
  take-back (3 states)      fresh and never opened: unlock   ended with the rejection's outcome
                            again; else ended, battery left  (the rider took it back)
  charged (3 states)        fresh and never opened: unlock   ended *completed*: the rider has it
                            again (it is still there, so it
                            is not a second hand-out); else
                            ended *not collected*
  ========================  ===============================  ======================================

- **Door or presence unknown**: the bay is taken out of service and the swap ends *bay fault*, so staff
  look before the bay is used again; nothing is unlocked.

*Fresh* means the restart happened in the same boot and within the step's wait: the rider may well still
be at the screen, so finishing their swap is the friendly choice. After a power cut (another boot) or a
long gap the rider is assumed gone, and unlocking a bay for nobody would leave it open.

Bays the swap had marked faulted are marked again: the crash may have come between the write and the
marking. A ``swap.recovered`` event says what was decided, in the same transaction as the new record.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Literal

from kiosk.core.events import Event
from kiosk.devices.base import BatteryReading, BayState, DoorState
from kiosk.station.selection import SwapPolicy, holds_battery
from kiosk.station.swap import SwapMachine, ended_event
from kiosk.station.swap_events import SwapRecovered
from kiosk.station.swap_record import (
    REJECT_OUTCOME,
    STEPS_OF_ROLE,
    Command,
    MarkBayFaulted,
    Persist,
    ReadBattery,
    Show,
    Step,
    SwapOutcome,
    SwapRecord,
    SwapState,
    Unlock,
)

S = SwapState
Decision = Literal["resumed", "reissued", "ended"]

_AWAIT = {"return": S.AWAIT_RETURN, "take_back": S.AWAIT_TAKE_BACK, "charged": S.AWAIT_COLLECT}
_OPENING = {"return": S.OPENING_RETURN, "take_back": S.REJECTING_RETURN, "charged": S.OPENING_CHARGED}
_SCREEN = {"return": "swap.open_return_bay", "take_back": "swap.take_back", "charged": "swap.take_charged"}


def reconcile(
    record: SwapRecord,
    bays: Mapping[int, BayState],
    readings: Mapping[int, BatteryReading],
    now: float,
    policy: SwapPolicy,
    *,
    same_boot: bool = False,
) -> list[Command]:
    """The commands that finish or resume ``record``; the first is always the :class:`Persist` of the outcome.

    ``bays`` and ``readings`` are fresh reads of the cabinet. ``same_boot`` says the record's monotonic
    times are comparable with ``now``. An ended record needs nothing (``[]``).
    """
    bay, role = record.current_bay, record.role
    if bay is None or role is None:
        return []
    state = bays.get(bay)
    door = DoorState.UNKNOWN if state is None else state.door
    reading = readings.get(bay)
    present = holds_battery(state, reading)
    wait_s = policy.insert_timeout_s if role == "return" else policy.collect_timeout_s
    last = max(record.steps.values(), default=None)
    fresh = same_boot and last is not None and 0 <= now - last <= wait_s
    unlocked, opened, closed = STEPS_OF_ROLE[role]
    again = tuple(MarkBayFaulted(b, "lock did not open (marked again after a restart)") for b in record.faulted_bays)

    def resume(to: SwapState, steps: tuple[Step, ...], detail: str, *after: Command) -> list[Command]:
        decision: Decision = "reissued" if any(isinstance(c, Unlock) for c in after) else "resumed"
        new = replace(record, state=to, steps={**record.steps, **dict.fromkeys(steps, now)})
        event = _recovered(record, new, decision, detail)
        return [Persist(new, (event,)), *again, *after]

    def end(
        outcome: SwapOutcome, detail: str, left: bool | None, *after: Command, base: SwapRecord = record
    ) -> list[Command]:
        new = replace(base, state=S.ENDED, outcome=outcome, detail=detail, steps={**record.steps, Step.ENDED: now})
        events: tuple[Event, ...] = (_recovered(record, new, "ended", detail), ended_event(new, left))
        if outcome is SwapOutcome.COMPLETED:
            screen = Show("swap.done", {"bay": new.charged_bay})
        else:
            screen = Show("swap.ended", {"outcome": outcome.value, "detail": detail})
        return [Persist(new, events), *again, *after, screen]

    if door is DoorState.OPEN:
        detail = f"bay {bay} is open: waiting for it to close"
        return resume(_AWAIT[role], (unlocked, opened), detail, Show(_SCREEN[role], {"bay": bay, "seconds": wait_s}))
    if door is not DoorState.CLOSED or present is None:
        reason = f"bay {bay}: door or battery presence unknown after a restart"
        return end(SwapOutcome.BAY_FAULT, reason, None, MarkBayFaulted(bay, reason))

    never_opened = record.state in (S.OPENING_RETURN, S.REJECTING_RETURN, S.OPENING_CHARGED)
    reissue = (
        Unlock(bay),
        Show(_SCREEN[role], {"bay": bay, "seconds": wait_s}),
    )
    if role == "return":
        if present and fresh:
            return resume(S.READING_RETURN, (closed,), f"bay {bay} holds a battery: reading it", ReadBattery(bay))
        if present:
            kept = record
            if reading is not None and reading.error is None:  # never forget a returned battery
                kept = replace(record, returned_battery_id=reading.battery_id, returned_soc_pct=reading.soc_pct)
            return end(SwapOutcome.ABANDONED, "restart: the rider left a battery in the return bay", True, base=kept)
        if fresh and never_opened:
            return resume(S.OPENING_RETURN, (unlocked,), f"bay {bay} is empty: unlocking it again", *reissue)
        if fresh:
            return resume(S.RETURN_EMPTY, (unlocked,), f"bay {bay} is empty: the rider may ask to reopen it")
        return end(SwapOutcome.ABANDONED, "restart: no battery was put in", False)
    if role == "take_back":
        outcome = REJECT_OUTCOME[record.reject_reason or "foreign"]
        if present and fresh and never_opened:
            return resume(
                S.REJECTING_RETURN, (unlocked,), f"bay {bay} still holds the battery: unlocking again", *reissue
            )
        if present:
            return end(outcome, "restart: the battery was not taken back", True)
        return end(outcome, "restart: the rider took the battery back", False)
    if not present:
        return end(SwapOutcome.COMPLETED, "restart: the rider took the charged battery", False)
    if fresh and never_opened:
        return resume(S.OPENING_CHARGED, (unlocked,), f"bay {bay} still holds the battery: unlocking again", *reissue)
    return end(SwapOutcome.NOT_COLLECTED, "restart: the charged battery was not taken", True)


def _recovered(old: SwapRecord, new: SwapRecord, decision: Decision, detail: str) -> SwapRecovered:
    return SwapRecovered(
        swap_id=old.swap_id,
        from_state=old.state.value,
        decision=decision,
        to_state=new.state.value,
        outcome=None if new.outcome is None else new.outcome.value,
        detail=detail,
    )


def recover(
    machine: SwapMachine,
    record: SwapRecord,
    bays: Mapping[int, BayState],
    readings: Mapping[int, BatteryReading],
    now: float,
    *,
    same_boot: bool = False,
) -> list[Command]:
    """:func:`reconcile`, then hand a resumed swap to ``machine`` so it carries on from the new record."""
    commands = reconcile(record, bays, readings, now, machine.policy, same_boot=same_boot)
    first = commands[0] if commands else None
    if isinstance(first, Persist) and first.swap is not None and first.swap.state is not S.ENDED:
        machine.adopt(first.swap, now)
    return commands
