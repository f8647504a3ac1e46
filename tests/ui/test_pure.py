"""The UI's pure parts: stream parsing, backoff, catalogs, what each core screen means, settings, Kivy setup."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest

from kiosk.core.errors import ConfigError
from kiosk.ui.bootstrap import FontMissing, check_font, input_providers, kivy_environment
from kiosk.ui.font_sizes import FONT_SIZES, ladder, step_at_most
from kiosk.ui.i18n import LOCALE_DIR, Language, Translator, parse_po
from kiosk.ui.settings import UiSettings, parse_size, read_pin
from kiosk.ui.sse import SseMessage, backoff_delay, parse_sse
from kiosk.ui.views import (
    CODE_REFUSALS,
    SWAP_ENDINGS,
    Nearby,
    SwapStep,
    Tone,
    UiScreen,
    cabinet_grid,
    cabinet_usable,
    charged_count,
    countdown,
    online,
    view_of,
)
from tests.ui.cases import CASES, screen, status

UI_SOURCE = Path(__file__).resolve().parents[2] / "kiosk" / "ui"
MSGID = re.compile(r'(?:\bN_|\bapp\.t)\(\s*"((?:[^"\\]|\\.)*)"')
BASE = UiSettings(api_url="http://127.0.0.1:8080", token_file=Path("/t"))


def used_msgids() -> set[str]:
    """Every string the UI's code and layouts mark or translate."""
    found: set[str] = set()
    for path in UI_SOURCE.rglob("*"):
        if path.suffix in (".py", ".kv"):
            found |= set(MSGID.findall(path.read_text(encoding="utf-8")))
    return found


# --- Server-Sent Events and backoff ---------------------------------------------------------------


def test_sse_messages_are_dispatched_at_blank_lines_and_comments_are_skipped() -> None:
    lines = [": keepalive", "retry: 2000", "", "event: screen", 'data: {"a":', "data: 1}", "id: 7", "", "data: x", ""]
    assert list(parse_sse(lines)) == [SseMessage("screen", '{"a":\n1}', "7"), SseMessage("message", "x", "7")]


def test_an_unfinished_sse_message_is_not_dispatched() -> None:
    assert list(parse_sse(["event: screen", "data: {}"])) == []


def test_backoff_grows_to_its_cap_with_full_jitter() -> None:
    assert [backoff_delay(n, base_s=0.25, cap_s=5.0, rand=lambda: 1.0) for n in (0, 1, 2, 3, 10)] == [
        0.0,
        0.25,
        0.5,
        1.0,
        5.0,
    ]
    assert backoff_delay(3, base_s=0.25, cap_s=5.0, rand=lambda: 0.0) == 0.0


# --- catalogs ------------------------------------------------------------------------------------------


def test_every_visible_string_has_a_chinese_translation() -> None:
    assert Translator().missing(sorted(used_msgids()), Language.ZH) == []


def test_the_catalogs_hold_no_string_the_ui_does_not_use() -> None:
    for language in Language:
        assert set(Translator().catalogs[language]) - used_msgids() == set()


def test_po_entries_join_continued_lines_and_read_escapes() -> None:
    po = ['msgid ""', 'msgstr ""', '"Language: zh_CN\\n"', "", 'msgid "Bay {bay}"', 'msgstr "{bay}号"']
    po.append('"格口 \\"x\\""')
    assert parse_po(po) == {"Bay {bay}": '{bay}号格口 "x"'}


def test_a_broken_po_line_is_an_error_naming_its_line() -> None:
    with pytest.raises(ConfigError, match=":2:"):
        parse_po(['msgid "a"', "msgstr nonsense"], Path("kiosk.po"))


def test_english_falls_back_to_the_source_string() -> None:
    translator = Translator(Language.EN)
    assert translator.gettext("Scan your code") == "Scan your code"
    assert translator.gettext("Scan your code", Language.ZH) == "请扫码"


def test_the_language_button_names_the_other_language() -> None:
    translator = Translator()
    assert translator.gettext("Other language", Language.ZH) == "English"
    assert translator.gettext("Other language", Language.EN) == "中文"


def test_the_catalogs_ship_with_the_package() -> None:
    assert sorted(p.parent.parent.name for p in LOCALE_DIR.rglob("kiosk.po")) == ["en", "zh_CN"]


# --- what core's screens mean -----------------------------------------------------------------------------


@pytest.mark.parametrize("reason", sorted(CODE_REFUSALS))
def test_every_code_refusal_reason_has_its_own_words_and_what_to_do(reason: str) -> None:
    view = view_of(screen("code.refused.expired", 1).model_copy(update={"params": {"reason": reason}}))
    assert (view.screen, view.title.msgid, view.body.msgid) == (UiScreen.REFUSAL, *CODE_REFUSALS[reason])


@pytest.mark.parametrize("outcome", sorted(SWAP_ENDINGS))
def test_every_swap_ending_has_plain_words(outcome: str) -> None:
    view = view_of(screen("swap.ended.abandoned", 1).model_copy(update={"params": {"outcome": outcome}}))
    assert view.screen is UiScreen.SWAP
    assert view.title.msgid
    assert view.terminal


def test_an_unknown_code_refusal_reason_uses_cores_own_message() -> None:
    params = {"reason": "new_reason", "message_zh": "新原因", "message_en": "New reason"}
    view = view_of(screen("code.refused.expired", 1).model_copy(update={"params": params}))
    assert view.core_text == {"message_zh": "新原因", "message_en": "New reason"}


def test_swap_steps_carry_the_bay_the_countdown_and_the_step() -> None:
    view = view_of(screen("swap.take_charged", 1))
    assert (view.bay, view.seconds, view.step, view.tone) == (12, 120, SwapStep.COLLECT, Tone.GOOD)
    assert not view.terminal


def test_a_refusal_for_lack_of_batteries_lists_nearby_stations_with_distances() -> None:
    view = view_of(screen("swap.refused.no_charged_battery", 1))
    assert [(n.name, n.distance(), n.charged) for n in view.nearby] == [
        ("漕溪北路驿站", "640 m", 5),
        ("徐家汇地铁站驿站", "1.8 km", 2),
    ]


def test_too_soon_says_how_many_minutes_to_wait() -> None:
    view = view_of(screen("swap.refused.too_soon", 1))
    assert view.body.params == {"minutes": 3}


def test_an_unknown_screen_name_shows_idle_rather_than_nothing() -> None:
    assert view_of(screen("idle", 1).model_copy(update={"name": "future.thing"})).screen is UiScreen.IDLE


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_core_screen_the_station_produces_has_a_ui_screen(case: str) -> None:
    assert view_of(screen(case, 1)).screen in UiScreen


def test_the_countdown_never_goes_below_zero() -> None:
    assert [countdown(120, 10.0, now) for now in (10.0, 10.4, 70.0, 500.0)] == [120, 120, 60, 0]
    assert countdown(None, 0.0, 1.0) is None


def test_charged_batteries_are_counted_from_the_bays_when_core_gives_no_count() -> None:
    assert charged_count(status(charged=5).model_dump()) == 5
    assert charged_count(status(charged=5, faulted=(1, 2)).model_dump()) == 3
    assert charged_count(None) is None


def test_a_cabinet_with_every_bay_faulted_cannot_serve() -> None:
    assert cabinet_usable(status().model_dump())
    assert not cabinet_usable(status(faulted=tuple(range(1, 13))).model_dump())
    assert cabinet_usable(None)


def test_online_means_the_last_sync_worked() -> None:
    assert online(status(online=True).model_dump())
    assert not online(status(online=False).model_dump())


def test_the_cabinet_diagram_is_two_rows_across_and_squarer_upright() -> None:
    assert [cabinet_grid(list(range(n))) for n in (3, 8, 12)] == [3, 4, 6]
    assert cabinet_grid(list(range(12)), portrait=True) == 3


def test_nearby_distances_read_well_in_both_languages() -> None:
    assert Nearby("a", "a", 1234.0, 1).distance() == "1.2 km"
    assert Nearby("a", "a", 87.0, 1).distance() == "90 m"


# --- settings and Kivy setup ------------------------------------------------------------------------------------


def test_fifteen_millimetres_in_pixels_follows_the_display() -> None:
    seven_inch = BASE
    assert seven_inch.touch_px(800, 480) == 79
    assert seven_inch.touch_px(1024, 600) == 101


def test_a_window_size_is_read_or_refused_plainly() -> None:
    assert parse_size("720x1280") == (720, 1280)
    with pytest.raises(ConfigError, match="800x480"):
        parse_size("big")


def test_the_pin_comes_from_the_environment_or_a_file(tmp_path: Path) -> None:
    assert read_pin({"KIOSK_UI_PIN": "2468"}) == "2468"
    (tmp_path / "pin").write_text("13579\n")
    assert read_pin({"KIOSK_UI_PIN_FILE": str(tmp_path / "pin")}) == "13579"
    assert read_pin({}) is None
    with pytest.raises(ConfigError, match="4 to 12 digits"):
        read_pin({"KIOSK_UI_PIN": "12"})


def test_kivy_reads_no_config_writes_no_log_file_and_ignores_our_arguments(tmp_path: Path) -> None:
    env = kivy_environment(BASE, tmp_path)
    assert {k: env[k] for k in ("KIVY_NO_CONFIG", "KIVY_NO_FILELOG", "KIVY_NO_ARGS")} == dict.fromkeys(
        ("KIVY_NO_CONFIG", "KIVY_NO_FILELOG", "KIVY_NO_ARGS"), "1"
    )
    assert env["KIVY_WINDOW"] == "sdl2"


def test_exactly_one_input_provider_per_device() -> None:
    assert input_providers(BASE) == {"touchscreen": "probesysfs,provider=hidinput"}
    assert input_providers(UiSettings(api_url="", token_file=Path("/t"), input="mouse")) == {"mouse": "mouse"}


def test_a_missing_font_is_a_clear_error_saying_how_to_install_it(tmp_path: Path) -> None:
    with pytest.raises(FontMissing, match="fonts-wqy-microhei"):
        check_font(tmp_path / "nope.ttc")


# --- font sizes ----------------------------------------------------------------------------------------------


def test_labels_fit_on_a_ladder_of_few_sizes_and_never_below_their_least() -> None:
    sizes = ladder(12, 64)
    assert sizes[0] == 12  # the least size is always there, the floor of every fit
    assert sizes == sorted(set(sizes))
    assert max(sizes) <= 64
    assert all(b / a <= 1.2 for a, b in itertools.pairwise(sizes))  # no visible jump between steps
    assert len(ladder(10, 160)) < 30  # a few dozen fonts open at most, not one per pixel size
    assert ladder(13.5, 13.6) == [13.5]  # no step inside: the least size alone
    assert set(ladder(10, 300)) - {10.0} <= {float(s) for s in FONT_SIZES}


def test_a_map_label_takes_the_step_below_its_size_but_never_less_than_its_least() -> None:
    assert step_at_most(23.7, 12) == 22
    assert step_at_most(9.0, 12) == 12
    assert step_at_most(400.0, 12) == max(FONT_SIZES)
