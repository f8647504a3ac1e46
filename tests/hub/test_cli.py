"""The kiosk-hub command, run in-process against both engines."""

from __future__ import annotations

import io
import json
import stat
from pathlib import Path

import pytest

from hub.cli import main
from hub.storage import open_storage
from kiosk.core.ridercode import parse_code


def run(capsys: pytest.CaptureFixture[str], db: str, *args: str) -> tuple[int, str]:
    code = main([*args[:2], "--db", db, *args[2:]] if args[0] not in ("version",) else list(args))
    return code, capsys.readouterr().out


def test_station_add_writes_a_working_token_to_a_private_file(
    capsys: pytest.CaptureFixture[str], db_target: str, tmp_path: Path
) -> None:
    path = tmp_path / "tokens" / "st-a.token"
    code, out = run(capsys, db_target, "station", "add", "st-a", "--name", "甲", "--token-file", str(path))
    assert code == 0
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    token = path.read_text().strip()
    assert token not in out
    store = open_storage(db_target)
    assert store.station_for_token(token) == "st-a"
    store.close()


def test_station_add_prints_the_token_once_without_a_file(capsys: pytest.CaptureFixture[str], db_target: str) -> None:
    code, out = run(
        capsys, db_target, "station", "add", "st-a", "--name", "甲", "--name-en", "A", "--lat", "31.2", "--lon", "121.4"
    )
    assert code == 0
    assert "shown once" in out


def test_adding_a_station_twice_is_an_error(capsys: pytest.CaptureFixture[str], db_target: str) -> None:
    run(capsys, db_target, "station", "add", "st-a", "--name", "甲")
    assert main(["station", "add", "--db", db_target, "st-a", "--name", "甲"]) == 1
    assert "already registered" in capsys.readouterr().err


def test_station_list_shows_the_stations(capsys: pytest.CaptureFixture[str], db_target: str) -> None:
    run(capsys, db_target, "station", "add", "st-a", "--name", "甲", "--name-en", "Alpha")
    _code, out = run(capsys, db_target, "station", "list")
    assert "st-a" in out
    assert "Alpha" in out


def test_revoke_token_replaces_the_token(capsys: pytest.CaptureFixture[str], db_target: str, tmp_path: Path) -> None:
    first, second = tmp_path / "1", tmp_path / "2"
    run(capsys, db_target, "station", "add", "st-a", "--name", "甲", "--token-file", str(first))
    assert run(capsys, db_target, "station", "revoke-token", "st-a", "--token-file", str(second))[0] == 0
    store = open_storage(db_target)
    assert store.station_for_token(first.read_text().strip()) is None
    assert store.station_for_token(second.read_text().strip()) == "st-a"
    store.close()


def test_keys_rotate_keeps_the_old_key_for_the_overlap(capsys: pytest.CaptureFixture[str], db_target: str) -> None:
    run(capsys, db_target, "keys", "rotate")
    _code, out = run(capsys, db_target, "keys", "rotate", "--overlap-days", "3")
    assert "new signing key k2" in out
    assert "key k1 stays valid until" in out


def test_codes_issue_prints_a_signed_code(capsys: pytest.CaptureFixture[str], db_target: str) -> None:
    code, out = run(capsys, db_target, "codes", "issue", "--rider", "r-1", "--scope", "entry", "--ttl", "60")
    assert code == 0
    assert parse_code(out.strip()).code.rider_id == "r-1"


def test_codes_issue_refuses_a_revoked_rider(capsys: pytest.CaptureFixture[str], db_target: str) -> None:
    run(capsys, db_target, "riders", "revoke", "r-1", "--reason", "test")
    assert main(["codes", "issue", "--db", db_target, "--rider", "r-1"]) == 1
    assert "revoked" in capsys.readouterr().err


def test_riders_revoke_and_list(capsys: pytest.CaptureFixture[str], db_target: str) -> None:
    run(capsys, db_target, "riders", "revoke", "r-1")
    assert run(capsys, db_target, "riders", "list")[1].split() == ["r-1"]
    run(capsys, db_target, "riders", "unrevoke", "r-1")
    assert run(capsys, db_target, "riders", "list")[1] == ""


def test_content_load_reads_a_file(capsys: pytest.CaptureFixture[str], db_target: str, tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"services": [], "announcements": [], "config_overrides": {"policy.x": 1}}))
    code, out = run(capsys, db_target, "content", "load", str(path))
    assert code == 0
    assert "1 overrides" in out


def test_content_load_refuses_settings_other_than_policy(
    capsys: pytest.CaptureFixture[str], db_target: str, tmp_path: Path
) -> None:
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"config_overrides": {"hardware.port": "/dev/x"}}))
    assert main(["content", "load", "--db", db_target, str(path)]) == 1
    assert "policy.<key>" in capsys.readouterr().err


def test_apikey_add_and_operator_add(
    capsys: pytest.CaptureFixture[str], db_target: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _code, out = run(capsys, db_target, "apikey", "add", "rider-app")
    key = out.strip().rsplit(" ", 1)[-1]
    monkeypatch.setattr("sys.stdin", io.StringIO("a long password\n"))
    assert run(capsys, db_target, "operator", "add", "ops", "--password-stdin")[0] == 0
    store = open_storage(db_target)
    assert store.api_key_name(key) == "rider-app"
    assert store.operator_ok("ops", "a long password")
    store.close()


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["version"]) == 0
    assert capsys.readouterr().out.startswith("kiosk-hub ")
