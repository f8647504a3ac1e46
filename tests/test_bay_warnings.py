"""Bay warnings are grouped: one silent lock board is one warning naming its bays, not one per bay."""

from __future__ import annotations

from kiosk.flows.bay_warnings import bay_list, grouped_faults


def test_one_bay_is_named_alone() -> None:
    assert bay_list([5]) == "bay 5"


def test_runs_of_bays_are_ranges() -> None:
    assert bay_list([8, 1, 2, 3, 5, 7]) == "bays 1–3, 5, 7–8"


def test_a_silent_board_is_one_warning_for_all_its_bays() -> None:
    faults = {n: "lock board 1 not answering" for n in range(1, 11)}
    assert grouped_faults(faults) == ["bays 1–10: lock board 1 not answering"]


def test_different_faults_stay_apart_in_bay_order() -> None:
    faults = {9: "lock jammed", 1: "lock board 1 not answering", 2: "lock board 1 not answering"}
    assert grouped_faults(faults) == ["bays 1–2: lock board 1 not answering", "bay 9: lock jammed"]
