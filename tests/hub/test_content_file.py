"""Issue 13, bug 5: one content format for the hub and the simulator's demo city.

``kiosk-hub content load kiosk/sim/sim_city.json`` used to refuse the demo city the project ships (extra
inputs), and once stripped, each service's ``slot_plan`` was dropped silently: a bookable service with no
slots. Now the hub loads the shipped file, makes each slot plan into slots, and refuses an unknown key
naming it. Run against both engines (SQLite and PostgreSQL).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hub.admin_content import check_content
from hub.cli import main
from hub.storage import open_storage

DEMO_CITY = Path(__file__).resolve().parents[2] / "kiosk" / "sim" / "sim_city.json"


def load(db: str, path: Path) -> int:
    return main(["content", "load", "--db", db, str(path)])


def test_the_shipped_demo_city_loads_at_the_hub(capsys: pytest.CaptureFixture[str], db_target: str) -> None:
    before = datetime.now(UTC)
    assert load(db_target, DEMO_CITY) == 0
    out = capsys.readouterr().out
    assert "content loaded" in out
    storage = open_storage(db_target)
    try:
        content = storage.content()
    finally:
        storage.close()
    city = json.loads(DEMO_CITY.read_text(encoding="utf-8"))
    assert [s.id for s in content.services] == [s["id"] for s in city["services"]]
    assert [c.id for c in content.catalogue] == [c["id"] for c in city["catalogue"]]
    legal = next(s for s in content.services if s.id == "legal-aid-consult")
    assert legal.bookable
    assert legal.slots, "the slot plan became no slots"
    assert all(slot.starts > before for slot in legal.slots)
    assert {slot.starts.astimezone(legal.slots[0].starts.tzinfo).strftime("%H:%M") for slot in legal.slots} <= {
        "10:00",
        "14:00",
        "16:30",
    }


def test_what_the_hub_does_not_use_is_named_not_dropped(capsys: pytest.CaptureFixture[str], db_target: str) -> None:
    assert load(db_target, DEMO_CITY) == 0
    out = capsys.readouterr().out
    for key in ("location", "nearby", "balances"):
        assert key in out
    assert "not used by the hub" in out


def test_slot_plans_become_slots_in_the_citys_time_zone(
    capsys: pytest.CaptureFixture[str], db_target: str, tmp_path: Path
) -> None:
    plan = {"days_ahead": 2, "local_times": ["09:00"], "minutes": 30}
    service = {"id": "s1", "category": "legal_aid", "title_zh": "法", "title_en": "Law", "slot_plan": plan}
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"timezone": "Asia/Shanghai", "services": [service]}), encoding="utf-8")
    assert load(db_target, path) == 0
    assert "1 slot plan" in capsys.readouterr().out
    storage = open_storage(db_target)
    try:
        (loaded,) = storage.content().services
    finally:
        storage.close()
    assert loaded.bookable
    assert 2 <= len(loaded.slots) <= 3
    assert all(slot.starts.utcoffset() is not None for slot in loaded.slots)
    assert all(slot.starts.astimezone(UTC).strftime("%H:%M") == "01:00" for slot in loaded.slots)


def test_a_slot_plan_without_the_citys_time_zone_is_refused(
    capsys: pytest.CaptureFixture[str], db_target: str, tmp_path: Path
) -> None:
    plan = {"days_ahead": 2, "local_times": ["09:00"], "minutes": 30}
    service = {"id": "s1", "category": "legal_aid", "title_zh": "法", "title_en": "Law", "slot_plan": plan}
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"services": [service]}), encoding="utf-8")
    assert load(db_target, path) == 1
    assert "timezone" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("content", "key"),
    [
        ({"services": [], "colour": "red"}, "colour"),
        (
            {"services": [{"id": "s", "category": "c", "title_zh": "z", "title_en": "e", "slot_plans": {}}]},
            "slot_plans",
        ),
        ({"catalogue": [{"id": "w", "name_zh": "水", "name_en": "Water", "points": 5, "price": 2}]}, "price"),
    ],
)
def test_an_unknown_key_is_refused_naming_it(
    capsys: pytest.CaptureFixture[str], db_target: str, tmp_path: Path, content: dict[str, object], key: str
) -> None:
    path = tmp_path / "c.json"
    path.write_text(json.dumps(content), encoding="utf-8")
    assert load(db_target, path) == 1
    err = capsys.readouterr().err
    assert key in err
    assert "not a key" in err or "unknown" in err
    storage = open_storage(db_target)
    try:
        assert storage.content().services == []
    finally:
        storage.close()


def test_the_admin_editor_checks_the_same_format() -> None:
    found = check_content('{"catalogue": [{"id": "w", "name_zh": "水", "name_en": "Water", "points": 5, "price": 2}]}')
    assert not found.ok
    assert any("price" in p for p in found.problems), found.problems
    planned = check_content(DEMO_CITY.read_text(encoding="utf-8"))
    assert planned.ok, planned.problems
    assert planned.content is not None
    assert next(s for s in planned.content.services if s.id == "legal-aid-consult").slots
