"""The charts' y scale: round steps from 0 to at least the largest value, a handful of ticks."""

from __future__ import annotations

import pytest

from hub.svg import line_chart, nice_ticks


@pytest.mark.parametrize(
    ("peak", "ticks"),
    [
        (0, [0, 1]),
        (3, [0, 1, 2, 3]),
        (7, [0, 2, 4, 6, 8]),
        (37, [0, 10, 20, 30, 40]),
        (101, [0, 50, 100, 150]),
        (1234, [0, 500, 1000, 1500]),
    ],
)
def test_ticks_are_round_and_reach_the_peak(peak: int, ticks: list[int]) -> None:
    assert nice_ticks(peak, 4) == ticks


def test_every_tick_is_labelled_on_the_y_axis() -> None:
    svg = line_chart(["03-01", "03-02"], [("swaps", [0, 37])], title="t")
    for tick in (0, 10, 20, 30, 40):
        assert f'text-anchor="end">{tick}</text>' in svg


def test_the_first_and_last_dates_are_anchored_inside_the_chart() -> None:
    svg = line_chart(["03-01", "03-02", "03-03"], [("swaps", [1, 2, 3])], title="t")
    assert 'text-anchor="start">03-01</text>' in svg
    assert 'text-anchor="end">03-03</text>' in svg
