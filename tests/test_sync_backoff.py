"""Backoff between hub attempts: full jitter, a cap, Retry-After as a floor."""

from __future__ import annotations

import pytest

from kiosk.sync.backoff import Backoff, parse_retry_after


def test_waits_grow_exponentially_up_to_the_cap_with_the_jitter_at_its_top() -> None:
    backoff = Backoff(2.0, 60.0, rand=lambda: 1.0)
    assert [backoff.next_wait() for _ in range(7)] == [2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0]


def test_full_jitter_draws_anywhere_below_the_ceiling() -> None:
    backoff = Backoff(2.0, 60.0, rand=lambda: 0.25)
    assert [backoff.next_wait() for _ in range(3)] == [0.5, 1.0, 2.0]


def test_a_success_starts_again_from_the_base() -> None:
    backoff = Backoff(2.0, 60.0, rand=lambda: 1.0)
    backoff.next_wait()
    backoff.next_wait()
    backoff.reset()
    assert backoff.next_wait() == 2.0


def test_retry_after_is_a_floor_but_never_beyond_the_cap() -> None:
    backoff = Backoff(2.0, 60.0, rand=lambda: 0.0)
    assert backoff.next_wait(retry_after_s=30.0) == 30.0
    assert backoff.next_wait(retry_after_s=3600.0) == 60.0


def test_impossible_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="base_s <= cap_s"):
        Backoff(10.0, 1.0)


@pytest.mark.parametrize(
    ("header", "seconds"), [("120", 120.0), (" 5 ", 5.0), ("0", 0.0), (None, None), ("soon", None), ("-3", None)]
)
def test_retry_after_header_in_seconds(header: str | None, seconds: float | None) -> None:
    assert parse_retry_after(header) == seconds
