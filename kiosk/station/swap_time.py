"""When a swap's waits end: pure functions of its record and the policy (the machine asks them at every tick).

Every wait runs from the unlock of the bay the swap is at. A door seen open when its wait ends is given
``door_open_alarm_s`` more; a battery read has ``read_timeout_s`` from when it was asked for.
"""

from __future__ import annotations

from kiosk.station.selection import SwapPolicy
from kiosk.station.swap_events import BayRole
from kiosk.station.swap_record import DOOR_OPEN, READING, STEPS_OF_ROLE, UNLOCKING, SwapRecord


def role_wait_s(role: BayRole | None, policy: SwapPolicy) -> float:
    """How long the rider has at a bay from its unlock: to put a battery in (return) or take one (charged)."""
    return policy.insert_timeout_s if role == "return" else policy.collect_timeout_s


def state_deadline(swap: SwapRecord, policy: SwapPolicy, *, read_since: float) -> float | None:
    """The monotonic time the swap's present state ends at (None: it waits for nothing).

    ``read_since``: when the battery read now awaited was asked for.
    """
    role = swap.role
    if role is None:
        return None
    unlocked = swap.at(STEPS_OF_ROLE[role][0]) or 0.0
    wait_s = role_wait_s(role, policy)
    if swap.state in UNLOCKING:
        if policy.unlock_confirm_s is not None:
            return unlocked + min(policy.unlock_confirm_s, wait_s)
        return unlocked + wait_s
    if swap.state in DOOR_OPEN:
        return unlocked + wait_s + policy.door_open_alarm_s
    if swap.state in READING:
        return read_since + policy.read_timeout_s
    return unlocked + wait_s  # RETURN_EMPTY
