"""The entry door as a pure state machine: a verified ``entry`` code lets the rider in; a door held open alarms.

Every entry is an ``entry.granted`` event written before the strike is pulsed (the station's visit
count); every refusal is an ``entry.refused`` event. The door opening without a grant is normal (people
leave from inside), so only its *duration* matters: one ``door.alarm`` per opening held longer than
``open_alarm_s``.
"""

from __future__ import annotations

from dataclasses import dataclass

from kiosk.station.swap_events import DoorAlarm, EntryGranted, EntryRefused
from kiosk.station.swap_record import Persist, Show, Tick


@dataclass(frozen=True)
class EntryRequested:
    """A verified ``entry`` code was scanned."""

    rider_id: str
    nonce: str
    now: float


@dataclass(frozen=True)
class EntryCodeRefused:
    """A code scanned at the entry was refused (``reason`` is the verifier's reason code)."""

    reason: str
    now: float
    rider_id: str | None = None


@dataclass(frozen=True)
class EntryDoorChanged:
    """The entry door was seen opening or closing."""

    open: bool
    now: float


EntryInput = EntryRequested | EntryCodeRefused | EntryDoorChanged | Tick


@dataclass(frozen=True)
class UnlockEntryDoor:
    """Pulse the entry door's strike once."""


@dataclass(frozen=True)
class EntryAlarm:
    """The entry door has been open too long: warn staff (its event is in the preceding Persist)."""

    open_for_s: float


EntryCommand = Persist | Show | UnlockEntryDoor | EntryAlarm


class EntryMachine:
    """The entry door's flow; ``open_alarm_s`` is how long the door may stand open."""

    def __init__(self, open_alarm_s: float) -> None:
        if open_alarm_s <= 0:
            raise ValueError(f"open_alarm_s must be positive, got {open_alarm_s}")
        self.open_alarm_s = open_alarm_s
        self._open_since: float | None = None
        self._alarmed = False

    @property
    def door_open(self) -> bool:
        """Whether the door was last seen open."""
        return self._open_since is not None

    def handle(self, event: EntryInput) -> list[EntryCommand]:
        """Apply one input; the commands to carry out, in order (Persist before the pulse)."""
        if isinstance(event, EntryRequested):
            granted = EntryGranted(rider_id=event.rider_id, nonce=event.nonce)
            return [Persist(None, (granted,)), UnlockEntryDoor(), Show("entry.welcome")]
        if isinstance(event, EntryCodeRefused):
            refused = EntryRefused(reason=event.reason, rider_id=event.rider_id)
            return [Persist(None, (refused,)), Show("entry.refused", {"reason": event.reason})]
        if isinstance(event, EntryDoorChanged):
            if not event.open:
                self._open_since, self._alarmed = None, False
            elif self._open_since is None:
                self._open_since = event.now
            return []
        return self._on_tick(event.now)

    def next_deadline(self) -> float | None:
        """When a :class:`Tick` would raise the held-open alarm (None: nothing pending)."""
        if self._open_since is None or self._alarmed:
            return None
        return self._open_since + self.open_alarm_s

    def _on_tick(self, now: float) -> list[EntryCommand]:
        deadline = self.next_deadline()
        if deadline is None or now < deadline or self._open_since is None:
            return []
        self._alarmed = True
        open_for = round(now - self._open_since, 1)
        return [Persist(None, (DoorAlarm(door="entry", open_for_s=open_for),)), EntryAlarm(open_for)]
