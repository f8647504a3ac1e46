"""The pure debouncer and flap detector, driven by explicit times."""

from __future__ import annotations

import pytest

from kiosk.devices.debounce import Debouncer, FlapDetector


def test_a_reading_becomes_stable_after_the_stable_time() -> None:
    deb = Debouncer(0.05, initial=False, now=0.0)
    assert deb.update(True, 1.0) is None
    assert deb.poll(1.049) is None
    assert deb.poll(1.05) is True
    assert deb.value is True


def test_a_bounce_shorter_than_the_stable_time_is_filtered() -> None:
    deb = Debouncer(0.05, initial=False, now=0.0)
    assert deb.update(True, 1.0) is None
    assert deb.update(False, 1.01) is None
    assert deb.update(True, 1.02) is None
    assert deb.update(False, 1.03) is None
    assert deb.poll(2.0) is None
    assert deb.value is False


def test_each_bounce_restarts_the_stable_time() -> None:
    deb = Debouncer(0.05, initial=False, now=0.0)
    deb.update(True, 1.0)
    deb.update(False, 1.04)
    deb.update(True, 1.045)
    assert deb.poll(1.06) is None  # only 15 ms since the last edge
    assert deb.poll(1.095) is True


def test_a_settled_change_is_confirmed_by_the_next_edge_without_a_poll() -> None:
    deb = Debouncer(0.05, initial=False, now=0.0)
    deb.update(True, 1.0)
    # No poll for a long time; the next edge must still report the open that happened in between.
    assert deb.update(False, 5.0) is True
    assert deb.poll(5.05) is False


def test_without_an_initial_value_the_first_reading_must_settle() -> None:
    deb = Debouncer(0.05)
    assert deb.value is None
    assert deb.update(True, 0.0) is None
    assert deb.poll(0.05) is True


def test_settling_says_a_change_is_pending() -> None:
    deb = Debouncer(0.05, initial=False, now=0.0)
    deb.update(True, 1.0)
    assert deb.settling
    deb.poll(1.1)
    assert not deb.settling


def test_a_negative_stable_time_is_refused() -> None:
    with pytest.raises(ValueError, match="stable_s"):
        Debouncer(-1.0)


def test_changes_up_to_the_limit_are_not_flapping() -> None:
    flaps = FlapDetector(max_changes=3, window_s=1.0)
    assert [flaps.record(t) for t in (0.0, 0.1, 0.2)] == [False, False, False]


def test_one_change_more_than_the_limit_within_the_window_is_flapping() -> None:
    flaps = FlapDetector(max_changes=3, window_s=1.0)
    for t in (0.0, 0.1, 0.2):
        flaps.record(t)
    assert flaps.record(0.3) is True


def test_changes_older_than_the_window_are_forgotten() -> None:
    flaps = FlapDetector(max_changes=3, window_s=1.0)
    for t in (0.0, 0.1, 0.2):
        flaps.record(t)
    assert flaps.record(1.5) is False
    assert flaps.count(1.5) == 1


def test_the_flap_reason_names_the_switch_and_the_limit() -> None:
    flaps = FlapDetector(max_changes=10, window_s=2.0)
    assert flaps.reason("door switch") == "door switch flapping: more than 10 changes within 2 s"


def test_impossible_flap_limits_are_refused() -> None:
    with pytest.raises(ValueError, match="max_changes"):
        FlapDetector(max_changes=0, window_s=1.0)
    with pytest.raises(ValueError, match="window_s"):
        FlapDetector(max_changes=1, window_s=0)
