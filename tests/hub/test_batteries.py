"""The hub's battery registry (load, list, retire), what it learns of packs from events, and the due list.

Every test runs on SQLite and on PostgreSQL (the ``storage`` / ``db_target`` fixtures).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from hub.batteries import Limits, due_for_retirement
from hub.cli import main
from hub.storage import Storage, open_storage
from tests.hub.support import record

CSV = (
    "battery_id,model,chemistry,commissioned,retired\n"
    "SH0000101,TL-48V20,nmc-13s,2025-01-10,\n"
    "SH0000102,TL-48V20,nmc-13s,2025-01-10,\n"
    "XD0000201,XD-60V24,lfp-16s,2025-06-01,2026-02-01\n"
)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def run(capsys: pytest.CaptureFixture[str], db: str, *args: str) -> tuple[int, str, str]:
    code = main(["batteries", args[0], "--db", db, *args[1:]])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def readings(station: str, seq: int, packs: list[dict[str, object]]) -> object:
    return record(station, seq, type_="battery.readings", payload={"period_s": 600.0, "packs": packs})


# --- the registry file -------------------------------------------------------------------------------


def test_load_adds_the_packs_of_a_csv_file(capsys: pytest.CaptureFixture[str], db_target: str, tmp_path: Path) -> None:
    code, out, _ = run(capsys, db_target, "load", str(write(tmp_path, "packs.csv", CSV)))
    assert code == 0
    assert "3 added" in out
    store = open_storage(db_target)
    try:
        packs = {p.battery_id: p for p in store.batteries()}
    finally:
        store.close()
    assert packs["SH0000101"].chemistry == "nmc-13s"
    assert packs["SH0000101"].retired is None
    assert packs["XD0000201"].retired == date(2026, 2, 1)


def test_an_unknown_column_is_refused_and_nothing_is_loaded(
    capsys: pytest.CaptureFixture[str], db_target: str, tmp_path: Path
) -> None:
    text = "battery_id,model,chemistry,commissioned,colour\nSH0000101,TL,nmc-13s,2025-01-10,red\n"
    code, _, err = run(capsys, db_target, "load", str(write(tmp_path, "packs.csv", text)))
    assert code == 1
    assert "unknown column(s) 'colour'" in err
    code, out, _ = run(capsys, db_target, "list")
    assert "0 in service, 0 retired" in out


def test_an_unknown_json_key_is_refused(capsys: pytest.CaptureFixture[str], db_target: str, tmp_path: Path) -> None:
    text = '[{"battery_id": "SH0000101", "model": "TL", "chemistry": "nmc-13s", "commissioned": "2025-01-10",'
    text += ' "soh": 90}]'
    code, _, err = run(capsys, db_target, "load", str(write(tmp_path, "packs.json", text)))
    assert code == 1
    assert "item 1: unknown key(s) 'soh'" in err


def test_every_bad_line_is_named_and_nothing_is_loaded(
    capsys: pytest.CaptureFixture[str], db_target: str, tmp_path: Path
) -> None:
    text = (
        "battery_id,model,chemistry,commissioned\n"
        "SH0000101,TL,nmc-13s,2025-01-10\n"
        "SH0000102,TL,nmc-13s,10/01/2025\n"
        "SH 0103,TL,nmc-13s,2025-01-10\n"
        "SH0000101,TL,nmc-13s,2025-01-11\n"
    )
    code, _, err = run(capsys, db_target, "load", str(write(tmp_path, "packs.csv", text)))
    assert code == 1
    assert "3 mistake(s), nothing was loaded" in err
    assert "line 3: commissioned '10/01/2025' is not a day written YYYY-MM-DD" in err
    assert "line 4: battery_id 'SH 0103'" in err
    assert "line 5: battery SH0000101 is already on line 2" in err
    assert run(capsys, db_target, "list")[1].endswith("0 in service, 0 retired\n")


def test_a_json_file_loads_like_a_csv_file(capsys: pytest.CaptureFixture[str], db_target: str, tmp_path: Path) -> None:
    text = (
        '{"batteries": [{"battery_id": "SH0000101", "model": "TL-48V20", "chemistry": "nmc-13s",'
        ' "commissioned": "2025-01-10", "retired": null}]}'
    )
    code, out, _ = run(capsys, db_target, "load", str(write(tmp_path, "packs.json", text)))
    assert code == 0
    assert "1 added" in out


def test_loading_again_updates_and_never_unretires(
    capsys: pytest.CaptureFixture[str], db_target: str, tmp_path: Path
) -> None:
    run(capsys, db_target, "load", str(write(tmp_path, "packs.csv", CSV)))
    assert run(capsys, db_target, "retire", "SH0000102", "--on", "2026-03-01")[0] == 0
    again = CSV.replace("SH0000101,TL-48V20", "SH0000101,TL-48V24").replace(",2026-02-01\n", ",\n")
    code, out, _ = run(capsys, db_target, "load", str(write(tmp_path, "again.csv", again)))
    assert code == 0
    assert "1 updated" in out
    assert "2 pack(s) the file lists without a retirement day stay retired" in out
    store = open_storage(db_target)
    try:
        packs = {p.battery_id: p for p in store.batteries()}
    finally:
        store.close()
    assert packs["SH0000101"].model == "TL-48V24"
    assert packs["SH0000102"].retired == date(2026, 3, 1)
    assert packs["XD0000201"].retired == date(2026, 2, 1)


def test_retiring_an_unknown_pack_says_so(capsys: pytest.CaptureFixture[str], db_target: str) -> None:
    code, _, err = run(capsys, db_target, "retire", "SH9999999")
    assert code == 1
    assert "the registry has no battery 'SH9999999'" in err


def test_list_in_service_leaves_retired_packs_out(
    capsys: pytest.CaptureFixture[str], db_target: str, tmp_path: Path
) -> None:
    run(capsys, db_target, "load", str(write(tmp_path, "packs.csv", CSV)))
    _, out, _ = run(capsys, db_target, "list", "--in-service")
    assert "SH0000101" in out
    assert "XD0000201" not in out
    assert "2 in service, 1 retired" in out


# --- what the hub learns from stations, and the due list -----------------------------------------------


def test_the_hub_computes_the_hottest_reading_itself(storage: Storage) -> None:
    storage.add_station("st-a", name="东站", name_en="East")
    storage.ingest(
        "st-a",
        [
            readings(
                "st-a",
                1,
                [
                    {
                        "battery_id": "SH0000101",
                        "bay": 1,
                        "soh_pct": 91.0,
                        "cycles": 300,
                        "temperatures_c": [24.0, 31.5, 27.0],
                    }
                ],
            ),
            readings(
                "st-a",
                2,
                [{"battery_id": "SH0000101", "bay": 1, "soh_pct": 90.5, "cycles": 301, "temperatures_c": [26.0, 25.0]}],
            ),
        ],
    )
    (seen,) = storage.packs_seen()
    assert seen.max_temp_c == 31.5
    assert seen.soh_pct == 90.5
    assert seen.cycles == 301
    assert seen.readings == 2
    assert len(storage.battery_history("SH0000101")) == 2


def test_a_batch_sent_twice_counts_its_readings_once(storage: Storage) -> None:
    storage.add_station("st-a", name="东站", name_en="East")
    batch = [readings("st-a", 1, [{"battery_id": "SH0000101", "bay": 1, "temperatures_c": [30.0]}])]
    storage.ingest("st-a", batch)
    storage.ingest("st-a", batch)
    assert storage.packs_seen()[0].readings == 1


def test_returned_and_refused_packs_are_readings_too(storage: Storage) -> None:
    storage.add_station("st-a", name="东站", name_en="East")
    returned = {
        "swap_id": "s1",
        "bay": 2,
        "battery_id": "SH0000102",
        "soc_pct": 20.0,
        "temperature_c": 33.0,
        "soh_pct": 88.0,
        "cycles": 410,
    }
    refused = {
        "swap_id": "s2",
        "bay": 2,
        "battery_id": "ZZ0000001",
        "reason": "unknown",
        "soh_pct": 60.0,
        "cycles": 1200,
        "temperature_c": 29.0,
        "soh_floor_pct": 70.0,
    }
    storage.ingest(
        "st-a",
        [
            record("st-a", 1, type_="swap.battery_returned", payload=returned),
            record("st-a", 2, type_="battery.refused", payload=refused),
        ],
    )
    seen = {p.battery_id: p for p in storage.packs_seen()}
    assert seen["SH0000102"].max_temp_c == 33.0
    assert seen["ZZ0000001"].soh_pct == 60.0


def test_malformed_readings_are_skipped_and_the_event_is_kept(storage: Storage) -> None:
    storage.add_station("st-a", name="东站", name_en="East")
    bad = [
        {"battery_id": "no spaces allowed", "temperatures_c": [99]},
        "not a pack",
        {"battery_id": "SH0000101", "soh_pct": 250, "temperatures_c": ["hot", 30.0]},
    ]
    result = storage.ingest("st-a", [readings("st-a", 1, bad)])
    assert len(result.accepted) == 1
    (seen,) = storage.packs_seen()
    assert seen.battery_id == "SH0000101"
    assert seen.soh_pct is None  # 250 % is no state of health
    assert seen.max_temp_c == 30.0


def test_due_lists_worn_hot_and_retired_packs(
    capsys: pytest.CaptureFixture[str], db_target: str, tmp_path: Path, storage: Storage
) -> None:
    csv_text = CSV + "SH0000103,TL-48V20,nmc-13s,2025-01-10,\nSH0000104,TL-48V20,nmc-13s,2025-01-10,\n"
    run(capsys, db_target, "load", str(write(tmp_path, "packs.csv", csv_text)))
    storage.add_station("st-a", name="东站", name_en="East")
    packs = [
        {"battery_id": "SH0000101", "bay": 1, "soh_pct": 65.0, "cycles": 500, "temperatures_c": [25.0]},
        {"battery_id": "SH0000102", "bay": 2, "soh_pct": 85.0, "cycles": 1500, "temperatures_c": [25.0]},
        {"battery_id": "SH0000103", "bay": 3, "soh_pct": 92.0, "cycles": 200, "temperatures_c": [30.0, 63.5]},
        {"battery_id": "SH0000104", "bay": 4, "soh_pct": 95.0, "cycles": 100, "temperatures_c": [25.0]},
        {"battery_id": "XD0000201", "bay": 5, "soh_pct": 90.0, "cycles": 100, "temperatures_c": [25.0]},
        {"battery_id": "QQ0000001", "bay": 6, "soh_pct": 90.0, "cycles": 100, "temperatures_c": [25.0]},
    ]
    storage.ingest("st-a", [readings("st-a", 1, packs)])
    code, out, _ = run(capsys, db_target, "due")
    assert code == 0
    lines = dict(line.split(": ", 1) for line in out.splitlines() if line.startswith(("SH", "XD", "QQ")))
    assert "state of health 65 % is below 70 %" in lines["SH0000101"]
    assert "1500 cycles, more than 1000" in lines["SH0000102"]
    assert "reached 63.5 °C" in lines["SH0000103"]
    assert "SH0000104" not in lines
    assert "retired on 2026-02-01 but seen in service at st-a" in lines["XD0000201"]
    assert "not in the registry" in lines["QQ0000001"]
    assert "5 pack(s) due for retirement" in out
    _, stricter, _ = run(capsys, db_target, "due", "--soh-floor", "96")
    assert "SH0000104: state of health 95 % is below 96 %" in stricter


def test_without_a_registry_no_pack_is_due_for_being_unregistered() -> None:
    from datetime import UTC, datetime

    from hub.batteries import PackSeen

    seen = PackSeen("QQ0000001", datetime(2026, 3, 1, tzinfo=UTC), "st-a", 90.0, 10, 25.0, None, 1)
    assert due_for_retirement({}, [seen], Limits()) == []
