"""Clock re-anchoring: place events written before a station's clock was synchronised.

A Raspberry Pi has no real-time clock, so until NTP syncs its wall clock may say anything (often a date
in the past). Every event carries the boot id and the monotonic time, which never jump within one boot.
The first event of a boot written with a synchronised clock is the *anchor*: for every other event of
the same boot, ``corrected = anchor.wall + (event.mono - anchor.mono)``.

- Synced events keep their own wall time (state :attr:`TimeState.SYNCED`).
- Unsynced events of a boot with an anchor are re-anchored (:attr:`TimeState.ANCHORED`).
- Unsynced events of a boot with no synced event (yet) keep their raw time, flagged
  :attr:`TimeState.UNANCHORED`; the hub re-places them when an anchor for their boot arrives.

Pure: no I/O, no clock.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol


class TimeState(enum.StrEnum):
    """How an event's corrected time was obtained."""

    SYNCED = "synced"
    """The station's clock was synchronised: its wall time is used as is."""
    ANCHORED = "anchored"
    """Placed from boot id + monotonic time against the boot's first synchronised event."""
    UNANCHORED = "unanchored"
    """No synchronised event of its boot is known: the raw (untrusted) wall time is kept."""


class Timed(Protocol):
    """What re-anchoring needs of an event (``EventRecord`` fits)."""

    @property
    def seq(self) -> int: ...
    @property
    def boot_id(self) -> str: ...
    @property
    def mono(self) -> float: ...
    @property
    def wall(self) -> datetime: ...
    @property
    def wall_synced(self) -> bool: ...


@dataclass(frozen=True)
class Anchor:
    """The first synchronised event of one boot: where its monotonic clock meets real time."""

    boot_id: str
    seq: int
    mono: float
    wall: datetime


@dataclass(frozen=True)
class Placed:
    """An event's corrected time and how it was obtained."""

    corrected: datetime
    state: TimeState


def find_anchors(events: Iterable[Timed]) -> dict[str, Anchor]:
    """The anchor of every boot among ``events``: its synchronised event with the lowest ``seq``."""
    anchors: dict[str, Anchor] = {}
    for event in events:
        if not event.wall_synced:
            continue
        known = anchors.get(event.boot_id)
        if known is None or event.seq < known.seq:
            anchors[event.boot_id] = Anchor(event.boot_id, event.seq, event.mono, _utc(event.wall))
    return anchors


def place(event: Timed, anchor: Anchor | None) -> Placed:
    """The corrected time of one event, given the anchor of its boot (or None when there is none)."""
    if event.wall_synced:
        return Placed(_utc(event.wall), TimeState.SYNCED)
    if anchor is None:
        return Placed(_utc(event.wall), TimeState.UNANCHORED)
    if anchor.boot_id != event.boot_id:
        raise ValueError(f"anchor of boot {anchor.boot_id} cannot place an event of boot {event.boot_id}")
    delta = event.mono - anchor.mono
    try:
        if not math.isfinite(delta):
            raise OverflowError(delta)
        return Placed(anchor.wall + timedelta(seconds=delta), TimeState.ANCHORED)
    except OverflowError:
        # A monotonic time no real boot reaches (a damaged record): keep the raw time, flagged.
        return Placed(_utc(event.wall), TimeState.UNANCHORED)


def place_all(events: Iterable[Timed], known: Mapping[str, Anchor] | None = None) -> list[Placed]:
    """Place every event, using anchors found among them and ``known`` anchors (the lowest ``seq`` wins)."""
    items = list(events)
    anchors = find_anchors(items)
    for boot, anchor in (known or {}).items():
        if boot not in anchors or anchor.seq <= anchors[boot].seq:
            anchors[boot] = anchor
    return [place(event, anchors.get(event.boot_id)) for event in items]


def _utc(moment: datetime) -> datetime:
    # A naive time from a peer is read as UTC: the protocol says wall times are UTC.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
