"""``kiosk codes keygen|issue|verify`` as an operator uses them (in-process, on a parser of our own)."""

from __future__ import annotations

import argparse
import json
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kiosk.cli.codes import add_codes_commands, parse_ttl
from kiosk.core.errors import ConfigError, KioskError
from kiosk.core.ridercode import TEXT_PREFIX, Scope, parse_code, public_key_to_b64, read_private_key


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="kiosk")
    add_codes_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))


@pytest.fixture
def key_and_keyset(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[Path, Path]:
    """A key made by keygen and a key set file built from the line it printed."""
    assert run("codes", "keygen", "--kid", "k1", "--out", str(tmp_path / "keys")) == 0
    entry = json.loads(capsys.readouterr().out)
    keyset = tmp_path / "keyset.json"
    keyset.write_text(json.dumps({"keys": [entry]}), encoding="utf-8")
    return tmp_path / "keys" / "k1.key", keyset


def issue(capsys: pytest.CaptureFixture[str], key: Path, *extra: str) -> str:
    assert run("codes", "issue", "--key", str(key), "--rider", "R1001", *extra) == 0
    return capsys.readouterr().out.splitlines()[0]


# --- keygen --------------------------------------------------------------------------------------


def test_keygen_writes_an_owner_only_key_file(key_and_keyset: tuple[Path, Path]) -> None:
    key, _ = key_and_keyset
    assert stat.S_IMODE(key.stat().st_mode) == 0o600


def test_keygen_prints_the_key_set_entry_of_that_key(key_and_keyset: tuple[Path, Path]) -> None:
    key, keyset = key_and_keyset
    entry = json.loads(keyset.read_text())["keys"][0]
    assert entry["kid"] == "k1"
    assert entry["public_key"] == public_key_to_b64(read_private_key(key).public_key())
    assert entry["valid_until"] is None


def test_keygen_never_overwrites_a_key(key_and_keyset: tuple[Path, Path]) -> None:
    key, _ = key_and_keyset
    before = key.read_bytes()
    with pytest.raises(KioskError, match="already exists"):
        run("codes", "keygen", "--kid", "k1", "--out", str(key.parent))
    assert key.read_bytes() == before


def test_keygen_refuses_a_key_id_the_format_cannot_carry(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="key id"):
        run("codes", "keygen", "--kid", "much-too-long", "--out", str(tmp_path))
    assert list(tmp_path.iterdir()) == []


def test_keygen_default_key_id_is_dated(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("codes", "keygen", "--out", str(tmp_path)) == 0
    kid = json.loads(capsys.readouterr().out)["kid"]
    assert (tmp_path / f"{kid}.key").exists()
    assert kid.startswith("k")
    assert len(kid) == 7


# --- issue ---------------------------------------------------------------------------------------


def test_issue_prints_a_code_for_the_rider(
    key_and_keyset: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    key, _ = key_and_keyset
    text = issue(capsys, key, "--scope", "both", "--points", "300", "--ttl", "10m")
    code = parse_code(text).code
    assert text.startswith(TEXT_PREFIX)
    assert (code.rider_id, code.kid, code.scopes, code.points) == ("R1001", "k1", Scope.SWAP | Scope.ENTRY, 300)
    assert code.expires_at - code.issued_at == timedelta(minutes=10)


def test_issue_shows_the_qr_code_in_the_terminal(
    key_and_keyset: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    key, _ = key_and_keyset
    assert run("codes", "issue", "--key", str(key), "--rider", "R1001") == 0
    out = capsys.readouterr()
    assert any(block in out.out for block in "█▀▄")
    assert "QR version" in out.err


def test_issue_writes_a_png(key_and_keyset: tuple[Path, Path], tmp_path: Path) -> None:
    key, _ = key_and_keyset
    png = tmp_path / "code.png"
    assert run("codes", "issue", "--key", str(key), "--rider", "R1001", "--no-qr", "--png", str(png)) == 0
    assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_issue_refuses_a_rider_id_the_format_cannot_carry(key_and_keyset: tuple[Path, Path]) -> None:
    key, _ = key_and_keyset
    with pytest.raises(ConfigError, match="rider id"):
        run("codes", "issue", "--key", str(key), "--rider", "骑手001")


def test_issue_refuses_a_key_file_others_can_read(key_and_keyset: tuple[Path, Path]) -> None:
    key, _ = key_and_keyset
    key.chmod(0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        run("codes", "issue", "--key", str(key), "--rider", "R1001")


@pytest.mark.parametrize(("text", "seconds"), [("90", 90), ("90s", 90), ("5m", 300), ("2h", 7200), ("1d", 86400)])
def test_ttl_forms(text: str, seconds: int) -> None:
    assert parse_ttl(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["0", "5x", "-5m", "", "8d"])
def test_bad_ttl_is_refused(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        parse_ttl(text)


# --- verify --------------------------------------------------------------------------------------


def test_verify_accepts_a_fresh_code(key_and_keyset: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    key, keyset = key_and_keyset
    text = issue(capsys, key)
    assert run("codes", "verify", text, "--keyset", str(keyset)) == 0
    assert capsys.readouterr().out.startswith("accepted: rider R1001")


def test_verify_explains_a_refusal_in_both_languages(
    key_and_keyset: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    key, keyset = key_and_keyset
    text = issue(capsys, key, "--ttl", "1m")
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert run("codes", "verify", text, "--keyset", str(keyset), "--now", later) == 1
    out = capsys.readouterr().out
    assert out.startswith("refused: expired")
    assert "expired" in out.splitlines()[1]
    assert "过期" in out.splitlines()[2]


def test_verify_checks_the_scope_asked(key_and_keyset: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    key, keyset = key_and_keyset
    text = issue(capsys, key, "--scope", "swap")
    assert run("codes", "verify", text, "--keyset", str(keyset), "--scope", "entry") == 1
    assert capsys.readouterr().out.startswith("refused: wrong_scope")


def test_verify_treats_named_riders_as_revoked(
    key_and_keyset: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    key, keyset = key_and_keyset
    text = issue(capsys, key)
    assert run("codes", "verify", text, "--keyset", str(keyset), "--revoked", "R1001") == 1
    assert capsys.readouterr().out.startswith("refused: revoked")


def test_verify_refuses_garbage_as_bad_encoding(
    key_and_keyset: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    _, keyset = key_and_keyset
    assert run("codes", "verify", "HELLO", "--keyset", str(keyset)) == 1
    assert capsys.readouterr().out.startswith("refused: bad_encoding")


def test_verify_with_a_broken_key_set_is_a_config_error(tmp_path: Path) -> None:
    keyset = tmp_path / "keyset.json"
    keyset.write_text("{", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid JSON"):
        run("codes", "verify", "RK1:", "--keyset", str(keyset))


def test_verify_with_a_missing_key_set_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read key set"):
        run("codes", "verify", "RK1:", "--keyset", str(tmp_path / "none.json"))
