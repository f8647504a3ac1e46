"""Breaking Chinese text into lines: never a lone character or punctuation mark on the last line, never a
line that starts with closing punctuation (widths measured as characters here; the app measures pixels)."""

from __future__ import annotations

import pytest

from kiosk.ui.linebreak import break_lines, has_cjk, pieces


def width(text: str) -> float:
    return float(len(text))


def test_closing_punctuation_sticks_to_the_character_before_it() -> None:
    assert pieces("请扫码开门。") == ["请", "扫", "码", "开", "门。"]


def test_a_latin_word_inside_chinese_is_one_piece() -> None:
    assert pieces("骑手App中") == ["骑", "手", "App", "中"]


def test_opening_punctuation_sticks_to_what_follows() -> None:
    assert pieces("码（换电）") == ["码", "（换", "电）"]


def test_pieces_give_the_text_back() -> None:
    text = "扫骑手App中的驿站码（换电）开门。OK, go now!"
    assert "".join(pieces(text)) == text


def test_a_lone_last_character_takes_one_from_the_line_above() -> None:
    # Filled greedily, 14 a line: "请扫骑手App中的驿站码开" then "门。" alone.
    assert break_lines("请扫骑手App中的驿站码开门。", width, 14) == ["请扫骑手App中的驿站码", "开门。"]


@pytest.mark.parametrize("max_width", range(3, 30))
def test_no_line_is_too_wide_starts_with_a_closing_mark_or_ends_alone(max_width: int) -> None:
    text = "格口故障，换电已停止。请重新扫码换用其他格口，或联系站点客服。"
    lines = break_lines(text, width, max_width)
    assert "".join(lines) == text
    assert all(len(line) <= max_width for line in lines)
    assert all(line[0] not in "，。" for line in lines)
    if len(lines) > 1:
        assert len(pieces(lines[-1])) >= 2, lines


def test_a_paragraph_that_fits_stays_one_line() -> None:
    assert break_lines("请扫码。", width, 10) == ["请扫码。"]


def test_its_own_newlines_are_kept() -> None:
    assert break_lines("第一行\n第二行", width, 10) == ["第一行", "第二行"]


def test_english_breaks_at_spaces_only_and_keeps_two_words_on_the_last_line() -> None:
    assert break_lines("Scan the code in your rider app", width, 14) == ["Scan the code", "in your", "rider app"]


def test_a_word_longer_than_the_line_is_cut() -> None:
    assert break_lines("abcdefghij", width, 4) == ["abcd", "efgh", "ij"]


def test_only_texts_with_chinese_are_broken_here() -> None:
    assert has_cjk("开门")
    assert not has_cjk("Open the door, 42 °C")
