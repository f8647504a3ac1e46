"""The config schema: every mistake is named with its key and its line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from kiosk.core.config import Config, load_config, parse_config
from kiosk.core.config_example import example_toml
from kiosk.core.errors import ConfigError
from kiosk.core.tomlpos import key_lines

GOOD = textwrap.dedent(
    """\
    [station]
    id = "sh-001"
    name = "测试驿站"
    name_en = "Test Station"

    [policy]
    charged_soc_pct = 90

    [[hardware.bays]]
    number = 1
    lock_pin = "GPIO17"
    """
)


def problems_of(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(text)
    return info.value.problems


def test_a_good_file_parses_with_defaults_for_what_it_leaves_out() -> None:
    config = parse_config(GOOD)
    assert config.station.id == "sh-001"
    assert config.policy.charged_soc_pct == 90
    assert config.policy.insert_timeout_s == 120
    assert config.api.port == 8080
    assert [b.number for b in config.hardware.bays] == [1]


def test_an_unknown_key_is_named_with_its_line_and_a_suggestion() -> None:
    problems = problems_of(GOOD.replace("charged_soc_pct = 90", "charged_soc_pct = 90\ncharged_soc = 80"))
    assert problems == ["line 8: unknown key 'charged_soc' in [policy] — did you mean 'charged_soc_pct'?"]


def test_a_wrong_type_is_named_with_its_line_and_what_was_expected() -> None:
    problems = problems_of(GOOD.replace("charged_soc_pct = 90", 'charged_soc_pct = "full"'))
    assert len(problems) == 1
    assert problems[0].startswith("line 7: policy.charged_soc_pct: Input should be a valid number")
    assert "'full'" in problems[0]


def test_a_missing_required_field_names_its_table_and_line() -> None:
    problems = problems_of(GOOD.replace('name_en = "Test Station"\n', ""))
    assert problems == ["line 1: missing required key 'name_en' in [station]"]


def test_a_missing_required_table_says_to_add_it() -> None:
    problems = problems_of("[api]\nport = 8081\n")
    assert problems == ["missing required key 'station' in the top level (add it to the file)"]


def test_an_impossible_value_is_refused_with_its_line() -> None:
    problems = problems_of(GOOD.replace("charged_soc_pct = 90", "charged_soc_pct = 101"))
    assert problems == ["line 7: policy.charged_soc_pct: Input should be less than or equal to 100 (got 101)"]


def test_a_key_in_the_second_bay_is_located_in_that_bay() -> None:
    text = GOOD + '\n[[hardware.bays]]\nnumber = 2\ndoor_pin = "GPIO99"\n'
    problems = problems_of(text)
    assert len(problems) == 1
    assert problems[0].startswith("line 15: hardware.bays #2.door_pin: expected a pin name like 'GPIO17'")


def test_every_mistake_is_listed_in_line_order() -> None:
    text = GOOD.replace('id = "sh-001"', 'id = "SH 001"').replace("charged_soc_pct = 90", "charged_soc_pct = 5")
    problems = problems_of(text)
    assert [p.split(":")[0] for p in problems] == ["line 2", "line 7"]


def test_duplicate_bay_numbers_are_refused() -> None:
    problems = problems_of(GOOD + "\n[[hardware.bays]]\nnumber = 1\n")
    assert problems == ["line 9: hardware.bays: bay number 1 appears twice"]


def test_sync_enabled_without_a_hub_url_is_refused() -> None:
    problems = problems_of(GOOD + "\n[sync]\nenabled = true\n")
    assert problems == ["line 13: sync: sync is enabled but hub_url is not set"]


def test_an_unknown_time_zone_is_refused() -> None:
    problems = problems_of(GOOD.replace('name_en = "Test Station"', 'name_en = "T"\ntimezone = "Mars/Olympus"'))
    assert problems[0].startswith("line 5: station.timezone: unknown time zone 'Mars/Olympus'")


def test_invalid_toml_is_reported_with_its_position() -> None:
    with pytest.raises(ConfigError, match=r"not valid TOML: .*line 2"):
        parse_config('[station]\nid = "unterminated\n')


def test_a_missing_file_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"does not exist .*kiosk config example"):
        load_config(tmp_path / "nope.toml")


def test_relative_paths_are_relative_to_the_config_file(tmp_path: Path) -> None:
    path = tmp_path / "etc" / "kiosk.toml"
    path.parent.mkdir()
    path.write_text(GOOD.replace('name_en = "Test Station"', 'name_en = "T"\ndata_dir = "../data"'))
    config = load_config(path)
    assert config.station.data_dir == (tmp_path / "data").resolve()
    assert config.database_path() == (tmp_path / "data" / "station.db").resolve()


def test_the_example_is_a_valid_config() -> None:
    config = parse_config(example_toml())
    assert config.station.id == "sh-xuhui-001"


def _all_fields(model: type[Config] | type, prefix: str = "") -> list[str]:
    out = []
    for name, field in model.model_fields.items():
        ann = field.annotation
        inner = getattr(ann, "__args__", (None,))[0] if getattr(ann, "__origin__", None) is list else ann
        if isinstance(inner, type) and hasattr(inner, "model_fields"):
            out.extend(_all_fields(inner, f"{prefix}{name}."))
        else:
            out.append(f"{prefix}{name}")
    return out


def test_the_example_documents_every_field_of_the_schema() -> None:
    text = example_toml()
    for dotted in _all_fields(Config):
        key = dotted.rsplit(".", 1)[-1]
        assert f"\n{key} = " in text or f"\n# {key} = " in text, f"{dotted} missing from the example"


def test_every_field_has_a_docstring() -> None:
    def walk(model: type) -> None:
        for name, field in model.model_fields.items():  # type: ignore[attr-defined]
            assert field.description, f"{model.__name__}.{name} has no docstring"
            ann = field.annotation
            inner = getattr(ann, "__args__", (None,))[0] if getattr(ann, "__origin__", None) is list else ann
            if isinstance(inner, type) and hasattr(inner, "model_fields"):
                walk(inner)

    walk(Config)


def test_key_lines_skip_multiline_values() -> None:
    text = 'a = [\n  "x = 1",\n]\ns = """\nb = 2\n"""\n[t]\nc = 3\n'
    lines = key_lines(text)
    assert lines[("a",)] == 1
    assert ("x",) not in lines
    assert ("b",) not in lines
    assert lines[("t", "c")] == 8


def test_the_shipped_simulator_config_is_valid() -> None:
    path = Path(__file__).resolve().parents[1] / "kiosk" / "sim" / "sim.toml"
    config = load_config(path)
    assert config.hardware.cabinet == "kerong"
    assert len(config.hardware.bays) == 10  # 8 battery bays, 2 goods bays


def test_a_broken_battery_id_pattern_is_refused() -> None:
    problems = problems_of(GOOD.replace("charged_soc_pct = 90", 'battery_id_pattern = "[A-Z"'))
    assert problems[0].startswith("line 7: policy.battery_id_pattern: not a valid regular expression")
