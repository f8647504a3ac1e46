"""Board profiles as data: ``[hardware] board_model`` fills the board settings, and the config still wins."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from kiosk.core.boards import PROFILES, board_profile
from kiosk.core.hardware import Board8A80Settings, HardwareConfig, KerongSettings


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_every_profile_is_a_valid_settings_section_of_its_family(name: str) -> None:
    profile = board_profile(name)
    section = KerongSettings if profile.family == "kerong" else Board8A80Settings
    settings = section(**profile.settings)
    assert all(getattr(settings, key) == value for key, value in profile.settings.items())


def test_the_common_models_are_there() -> None:
    assert {"kerong-cu16", "kerong-cu12", "8a80-8", "8a80-24"} <= set(PROFILES)


def test_board_model_sets_the_cabinet_and_the_board_settings() -> None:
    hw = HardwareConfig(board_model="8a80-24", bus_port="/dev/serial/by-id/x")
    assert hw.cabinet == "8a80"
    assert (hw.board8a80.status_bytes, hw.board8a80.board_max, hw.board8a80.locks_per_board) == (3, 0xC8, 24)
    assert hw.board8a80.unlock_timeout_s == board_profile("8a80-24").settings["unlock_timeout_s"]


def test_a_field_written_in_the_config_wins_over_the_profile() -> None:
    hw = HardwareConfig(
        board_model="kerong-cu12",
        bus_port="/dev/serial/by-id/x",
        kerong={"unlock_timeout_s": 0.9, "locked_bit_value": 0},
    )
    assert (hw.kerong.unlock_timeout_s, hw.kerong.locked_bit_value, hw.kerong.locks_per_board) == (0.9, 0, 12)


def test_a_settings_object_given_in_code_keeps_its_set_fields_over_the_profile() -> None:
    hw = HardwareConfig(board_model="8a80-24", bus_port="/x", board8a80=Board8A80Settings(status_bytes=4))
    assert (hw.board8a80.status_bytes, hw.board8a80.locks_per_board) == (4, 24)


def test_an_unknown_board_model_names_the_known_ones() -> None:
    with pytest.raises(ValidationError, match="unknown board model 'kerong-cu99'; known models: 8a80-24"):
        HardwareConfig(board_model="kerong-cu99", bus_port="/x")


def test_a_board_model_of_the_other_family_than_the_cabinet_is_refused() -> None:
    with pytest.raises(ValidationError, match="'kerong-cu16' is a 'kerong' board, but cabinet is '8a80'"):
        HardwareConfig(cabinet="8a80", board_model="kerong-cu16", bus_port="/x")


def test_a_bay_beyond_the_models_lock_count_is_refused() -> None:
    with pytest.raises(ValidationError, match="bay 1: lock 12 is beyond the 12 locks of a board"):
        HardwareConfig(board_model="kerong-cu12", bus_port="/x", bays=[{"number": 1, "board": 0, "lock": 12}])


def test_a_board_address_above_the_models_range_is_refused_and_inside_it_accepted() -> None:
    bay = {"number": 1, "board": 150, "lock": 0}
    with pytest.raises(ValidationError, match="board address 150 is above board_max 32"):
        HardwareConfig(board_model="8a80-32", bus_port="/x", bays=[bay])
    assert HardwareConfig(board_model="8a80-24", bus_port="/x", bays=[bay]).bays[0].board == 150


def test_without_a_board_model_the_8a_echo_is_accepted_and_either_status_length_read() -> None:
    settings = Board8A80Settings()
    assert (settings.strict_unlock_header, settings.status_bytes) == (False, None)
