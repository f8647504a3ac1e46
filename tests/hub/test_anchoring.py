"""Clock re-anchoring (pure): events written before NTP sync placed by boot id + monotonic time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hub.anchoring import Anchor, TimeState, find_anchors, place, place_all
from tests.hub.support import record

WRONG = datetime(1970, 1, 1, 0, 5, tzinfo=UTC)
"""What a Pi without a real-time clock says before NTP."""
REAL = datetime(2026, 3, 10, 8, 0, tzinfo=UTC)


def test_a_synced_event_keeps_its_own_time() -> None:
    event = record("st-a", 1, wall=REAL, synced=True)
    assert place(event, None) == place(event, Anchor("boot-1", 1, 0.0, WRONG))
    assert place(event, None).corrected == REAL
    assert place(event, None).state is TimeState.SYNCED


def test_an_unsynced_event_is_placed_from_the_first_synced_event_of_its_boot() -> None:
    before = record("st-a", 1, mono=50.0, wall=WRONG, synced=False)
    anchor = record("st-a", 2, mono=80.0, wall=REAL, synced=True)
    placed = place_all([before, anchor])
    assert placed[0].corrected == REAL - timedelta(seconds=30)
    assert placed[0].state is TimeState.ANCHORED


def test_an_unsynced_event_after_the_anchor_is_placed_forwards() -> None:
    anchor = record("st-a", 1, mono=80.0, wall=REAL, synced=True)
    later = record("st-a", 2, mono=92.5, wall=WRONG, synced=False)
    assert place_all([anchor, later])[1].corrected == REAL + timedelta(seconds=12.5)


def test_the_anchor_is_the_synced_event_with_the_lowest_seq() -> None:
    events = [
        record("st-a", 3, mono=90.0, wall=REAL + timedelta(hours=1), synced=True),
        record("st-a", 2, mono=80.0, wall=REAL, synced=True),
    ]
    assert find_anchors(events)["boot-1"].seq == 2


def test_events_of_a_boot_without_a_synced_event_keep_their_raw_time_flagged() -> None:
    lonely = record("st-a", 1, boot="boot-2", mono=10.0, wall=WRONG, synced=False)
    other_boot_anchor = record("st-a", 2, boot="boot-3", mono=10.0, wall=REAL, synced=True)
    placed = place_all([lonely, other_boot_anchor])
    assert placed[0].corrected == WRONG
    assert placed[0].state is TimeState.UNANCHORED


def test_a_known_anchor_from_an_earlier_batch_places_later_events() -> None:
    known = {"boot-1": Anchor("boot-1", 1, 100.0, REAL)}
    late = record("st-a", 9, mono=160.0, wall=WRONG, synced=False)
    assert place_all([late], known)[0].corrected == REAL + timedelta(minutes=1)


def test_an_anchor_of_another_boot_is_refused() -> None:
    with pytest.raises(ValueError, match="boot"):
        place(record("st-a", 1, boot="boot-1", synced=False), Anchor("boot-9", 1, 0.0, REAL))


def test_an_impossible_monotonic_time_keeps_the_raw_time_flagged() -> None:
    anchor = Anchor("boot-1", 1, 0.0, REAL)
    broken = record("st-a", 2, mono=1e300, wall=WRONG, synced=False)
    assert place(broken, anchor) == place(broken, None)
