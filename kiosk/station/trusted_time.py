"""The time a station checks riders' codes against — pure: what it has seen and its clocks in, a moment out.

A Raspberry Pi has no real-time clock: after a power cut it boots with whatever date the system restored
(often the last shutdown, sometimes 1970) and no NTP until the network is up. A wide grace window for an
unsynchronised clock would let a code that expired hours ago open a bay. Instead the station keeps a
:class:`TimeMark`: the newest *trusted* time it has seen — an NTP-synchronised wall clock, or the hub's
answer (heartbeat ``server_time``, a fresh bundle's ``generated_at``) — with the monotonic reading and the
boot it was seen in. It is carried forward by monotonic time (:func:`carried`) and persisted, so after a
reboot "the last persisted trusted time plus the monotonic time since this boot" still bounds the time from
below: the real time is never earlier.

:func:`code_time` turns that into the moment codes are checked against:

- wall clock synchronised (NTP): the wall clock itself; codes are judged exactly, ± the policy's skew.
- not synchronised, a trusted time seen before: the carried mark, a *lower bound*. A code that expired
  before it is refused; a code issued after it is not refused as "not yet valid" (its signed issue time is
  the hub's time, so the station's estimate is what lags) — see ``verify(..., lower_bound=True)``.
- never seen a trusted time (a new station that was never online and has no NTP): the unsynchronised
  wall clock, treated as a lower bound in the same way, and a warning on the status page until a trusted
  time arrives. Such a station cannot know the date; refusing every code would lock riders out of a
  station the city set up to work offline, so it accepts what its own clock does not call expired.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from kiosk.core.errors import ProtocolError


class TimeSource(enum.Enum):
    """Where a trusted time came from."""

    NTP = "ntp"
    """The wall clock while the kernel said it was synchronised."""
    HUB = "hub"
    """The hub's answer: a heartbeat's ``server_time`` or a fresh bundle's ``generated_at``."""


@dataclass(frozen=True)
class TimeMark:
    """A trusted time ``at``, seen when the monotonic clock of boot ``boot_id`` read ``mono``."""

    at: datetime
    """The trusted time (timezone-aware)."""
    mono: float
    """``clock.monotonic()`` when it was seen."""
    boot_id: str
    """The boot it was seen in: monotonic readings compare only within one boot."""
    source: TimeSource
    """Where it came from (for the status page)."""

    def __post_init__(self) -> None:
        if self.at.utcoffset() is None:
            raise ValueError("a trusted time must be timezone-aware")

    def to_json(self) -> str:
        """The form the store keeps."""
        data = {"at": self.at.isoformat(), "mono": self.mono, "boot_id": self.boot_id, "source": self.source.value}
        return json.dumps(data, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> TimeMark:
        """Read what :meth:`to_json` wrote; ``ProtocolError`` when it is not that."""
        try:
            data = json.loads(text)
            return cls(
                at=datetime.fromisoformat(data["at"]),
                mono=float(data["mono"]),
                boot_id=str(data["boot_id"]),
                source=TimeSource(data["source"]),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise ProtocolError(f"the stored trusted time is unreadable: {exc}") from None


def carried(mark: TimeMark, *, boot_id: str, mono: float) -> datetime:
    """The earliest the real time can be now, from ``mark``: it plus the monotonic time since it was seen.

    In another boot the monotonic clock began again at that boot (Linux ``CLOCK_MONOTONIC``), which came
    after the mark: the time since boot is then all that is known to have passed.
    """
    elapsed = mono - mark.mono if boot_id == mark.boot_id else mono
    return mark.at + timedelta(seconds=max(0.0, elapsed))


def newer(current: TimeMark | None, seen: TimeMark, *, boot_id: str, mono: float) -> TimeMark:
    """The mark that says more: ``seen`` unless ``current``, carried to now, is later."""
    if current is None:
        return seen
    if carried(current, boot_id=boot_id, mono=mono) > carried(seen, boot_id=boot_id, mono=mono):
        return current
    return seen


def rebased(mark: TimeMark, *, boot_id: str, mono: float) -> TimeMark:
    """``mark`` carried to now and tied to this boot (what is persisted, so a later reboot loses least)."""
    return TimeMark(carried(mark, boot_id=boot_id, mono=mono), mono, boot_id, mark.source)


@dataclass(frozen=True)
class CodeTime:
    """The moment codes are checked against now, and whether it is only a lower bound of the real time."""

    now: datetime
    """The moment."""
    lower_bound: bool
    """True unless the wall clock is synchronised: the real time may be later (never earlier, once trusted)."""
    trusted: bool
    """False while the station has never seen a trusted time (``now`` is then its unsynchronised wall clock)."""


def code_time(mark: TimeMark | None, *, wall: datetime, wall_synced: bool, boot_id: str, mono: float) -> CodeTime:
    """What codes are checked against (see the module's description)."""
    if wall_synced:
        return CodeTime(wall, lower_bound=False, trusted=True)
    if mark is None:
        return CodeTime(wall, lower_bound=True, trusted=False)
    return CodeTime(carried(mark, boot_id=boot_id, mono=mono), lower_bound=True, trusted=True)
