"""``/metrics`` text and the overview's machine facts, as pure functions."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from kiosk.api.metrics import render_metrics
from kiosk.api.system import cpu_temperature_c, disk_space, format_bytes

SAMPLE = re.compile(r'^[a-z_]+\{station="[^"]*"(,[a-z_]+="[^"]*")*\} -?[0-9.e+]+$')


def status(**over: Any) -> dict[str, Any]:
    bays = {
        "1": {"door": "open", "fault": None, "battery": {"present": True}},
        "2": {"door": "closed", "fault": "lock jammed", "battery": {"present": False}},
        "3": {"door": "closed", "fault": None, "battery": None, "presence": True},
    }
    base: dict[str, Any] = {
        "station_id": "sh-001",
        "uptime_s": 12.5,
        "wall_synced": True,
        "warnings": ["a", "b"],
        "components": {
            "cabinet": {"state": "running", "bays": bays},
            "station": {"state": "running", "out_of_service": {"2": "jammed"}, "charged_batteries": 1, "swap": None},
            "sync": {"state": "failed"},
        },
        "store": {"events_total": 40},
        "sync": {"backlog": 7, "oldest_unsynced_age_s": 90.0, "last_error": "timeout"},
    }
    return base | over


def lines(text: str) -> dict[str, str]:
    return {line.rsplit(" ", 1)[0]: line.rsplit(" ", 1)[1] for line in text.splitlines() if not line.startswith("#")}


def test_every_sample_line_is_in_the_text_format() -> None:
    text = render_metrics(status(), {"completed": 3})
    assert text.endswith("\n")
    for line in text.splitlines():
        assert line.startswith(("# HELP ", "# TYPE ")) or SAMPLE.match(line), line


def test_bays_are_counted_by_door_fault_battery_and_service() -> None:
    got = lines(render_metrics(status()))
    assert got['kiosk_bays_door{station="sh-001",door="open"}'] == "1"
    assert got['kiosk_bays_door{station="sh-001",door="closed"}'] == "2"
    assert got['kiosk_bays_faulted{station="sh-001"}'] == "1"
    assert got['kiosk_bays_with_battery{station="sh-001"}'] == "2"
    assert got['kiosk_bays_out_of_service{station="sh-001"}'] == "1"
    assert got['kiosk_batteries_charged{station="sh-001"}'] == "1"


def test_sync_backlog_warnings_and_failed_components_are_shown() -> None:
    got = lines(render_metrics(status()))
    assert got['kiosk_sync_backlog_events{station="sh-001"}'] == "7"
    assert got['kiosk_sync_oldest_unsynced_age_seconds{station="sh-001"}'] == "90"
    assert got['kiosk_sync_failing{station="sh-001"}'] == "1"
    assert got['kiosk_warnings{station="sh-001"}'] == "2"
    assert got['kiosk_component_running{station="sh-001",component="sync"}'] == "0"


def test_swaps_by_outcome_list_every_outcome_once() -> None:
    text = render_metrics(status(), {"completed": 3, "abandoned": 1})
    got = lines(text)
    assert got['kiosk_swaps_total{station="sh-001",outcome="completed"}'] == "3"
    assert got['kiosk_swaps_total{station="sh-001",outcome="no_capacity"}'] == "0"
    assert text.count("# TYPE kiosk_swaps_total counter") == 1


def test_a_label_value_is_escaped() -> None:
    text = render_metrics(status(station_id='a"b\\c'))
    assert 'station="a\\"b\\\\c"' in text


def test_figures_a_status_lacks_are_left_out() -> None:
    text = render_metrics({"station_id": "x", "components": {}})
    assert "kiosk_bays" not in text
    assert "kiosk_sync" not in text
    assert "kiosk_up" in text


def make_zone(root: Path, n: int, kind: str, millideg: str) -> None:
    zone = root / f"thermal_zone{n}"
    zone.mkdir(parents=True)
    (zone / "type").write_text(kind + "\n")
    (zone / "temp").write_text(millideg + "\n")


def test_the_cpu_zone_is_preferred_for_the_temperature(tmp_path: Path) -> None:
    make_zone(tmp_path, 0, "acpitz", "30000")
    make_zone(tmp_path, 1, "cpu-thermal", "51540")
    assert cpu_temperature_c(tmp_path) == pytest.approx(51.54)


def test_no_thermal_zone_means_no_temperature(tmp_path: Path) -> None:
    assert cpu_temperature_c(tmp_path / "missing") is None


def test_an_unreadable_temperature_means_none(tmp_path: Path) -> None:
    make_zone(tmp_path, 0, "cpu-thermal", "garbage")
    assert cpu_temperature_c(tmp_path) is None


def test_disk_space_of_a_folder_not_made_yet_is_its_parents(tmp_path: Path) -> None:
    space = disk_space(tmp_path / "not" / "yet")
    assert space is not None
    assert 0 < space.free_bytes <= space.total_bytes


@pytest.mark.parametrize(("count", "text"), [(512, "512 B"), (1536, "1.5 KiB"), (5 * 1024**3, "5.0 GiB")])
def test_bytes_read_in_binary_units(count: int, text: str) -> None:
    assert format_bytes(count) == text
