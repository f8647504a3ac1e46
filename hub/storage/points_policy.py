"""What a station's points event is worth, decided by the hub alone: pure functions, no database.

A station reports *that* something happened (a check-in, signed feedback, an item handed out). The hub
prices it from its own rules and catalogue and counts daily limits by the day *it* assigns from its own
placing of the event in time (:mod:`hub.anchoring`), never by the ``day`` or the amount the station
claims. An amount that disagrees with the rules is stored, flagged and moves no points.

**The hub's day of an event.** The event's corrected time (its synchronised wall time, or re-anchored
from boot id + monotonic time), in the city's time zone. Two exceptions, because then that time is only
the station's word: an event whose boot has no synchronised event (*unanchored*) and an event placed in
the future (beyond :data:`FUTURE_SLACK`) take the hub's receipt time. An earning placed more than
:data:`EARNING_MAX_AGE` before its receipt earns nothing: a station cannot spread made-up check-ins over
past days.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hub.anchoring import TimeState
from kiosk.core.content import CatalogueItem, PointsRule

FUTURE_SLACK = timedelta(minutes=5)
"""How far past the hub's clock an event's time may be before the hub uses its receipt time instead."""
EARNING_MAX_AGE = timedelta(days=14)
"""An earning placed longer than this before the hub received it earns nothing (a station offline longer
loses those check-ins; one making up old days gains nothing)."""


def hub_day(
    corrected: datetime, state: TimeState, received: datetime, utc_offset_minutes: int
) -> tuple[str | None, str | None]:
    """(the hub's local day of an event, None) or (None, why it has none) — see the module's words."""
    moment = corrected
    if state is TimeState.UNANCHORED or corrected > received + FUTURE_SLACK:
        moment = received
    if moment < received - EARNING_MAX_AGE:
        days = EARNING_MAX_AGE.days
        return None, f"earned more than {days} days before the hub received it ({moment:%Y-%m-%d})"
    local = timezone(timedelta(minutes=utc_offset_minutes))
    return moment.astimezone(local).date().isoformat(), None


def earning_mismatch(rule_id: str, rule: PointsRule | None, claimed: int) -> str | None:
    """Why an earning's claim disagrees with the city's rules (None: it agrees)."""
    if rule is None:
        return f"the city has no points rule {rule_id!r}"
    if claimed != rule.points:
        return f"the station claimed {claimed} points; the city's rule {rule_id!r} gives {rule.points}"
    return None


def spend_mismatch(item_id: str, item: CatalogueItem | None, claimed: int) -> str | None:
    """Why a spend's price disagrees with the city's catalogue (None: it agrees or the item is unknown)."""
    if item is not None and claimed != item.points:
        return f"the station charged {claimed} points for {item_id!r}; the city's catalogue says {item.points}"
    return None


def find_item(catalogue: list[CatalogueItem], item_id: str) -> CatalogueItem | None:
    """The catalogue item ``item_id``, or None."""
    return next((i for i in catalogue if i.id == item_id), None)


def spend_refusal(balance: int, points: int) -> str | None:
    """Why a spend of ``points`` cannot be covered by ``balance`` (None: it can)."""
    if points <= balance:
        return None
    return f"not enough points: the balance is {balance}, the item costs {points}"


def earning_refusal(rule_id: str, per_day: int | None, earned_that_day: int, day: str) -> str | None:
    """Why an earning under ``rule_id`` does not count (None: it does); ``per_day`` None: no such rule."""
    if per_day is None:
        return f"the city has no points rule {rule_id!r}"
    if earned_that_day >= per_day:
        times = "once" if per_day == 1 else f"{per_day} times"
        return f"rule {rule_id} is earned at most {times} a day, already reached on {day}"
    return None
