"""Where kiosk-ui finds its token and config when it runs as its own user on systemd's copies of them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.core.config import load_config
from kiosk.core.errors import ConfigError
from kiosk.ui.settings import MAX_TOKEN_BYTES, check_token_file
from tests.ui.test_main import RUN_MAIN, config_file


def test_a_readable_token_file_is_accepted(tmp_path: Path) -> None:
    token = tmp_path / "ui-token"
    token.write_text("t" * 43 + "\n")
    assert check_token_file(token) == token


def test_a_missing_token_file_names_where_the_copy_comes_from(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"does not exist.*LoadCredential=ui-token:/etc/kiosk/ui-token"):
        check_token_file(tmp_path / "ui-token")


def test_an_unreadable_token_file_says_so(tmp_path: Path) -> None:
    token = tmp_path / "ui-token"
    token.mkdir()  # opening a folder fails for root too (the tests run as root, so modes would not)
    with pytest.raises(ConfigError, match=r"cannot be read \(Is a directory\).*--token-file"):
        check_token_file(token)


@pytest.mark.parametrize("text", ["", "\n  \n", "x" * (MAX_TOKEN_BYTES + 1)])
def test_an_empty_or_oversized_token_file_is_not_a_token(tmp_path: Path, text: str) -> None:
    token = tmp_path / "ui-token"
    token.write_text(text)
    with pytest.raises(ConfigError, match="does not hold a token"):
        check_token_file(token)


def test_relative_paths_in_a_copied_config_stay_relative_to_the_config_folder(tmp_path: Path) -> None:
    etc, credentials = tmp_path / "etc-kiosk", tmp_path / "credentials"
    etc.mkdir()
    credentials.mkdir()
    text = '[station]\nid = "sh-001"\nname = "站"\nname_en = "S"\n[ui]\nmaintenance_pin_file = "pin"\n'
    (credentials / "kiosk.toml").write_text(text)
    assert load_config(credentials / "kiosk.toml").ui.maintenance_pin_file == credentials / "pin"
    assert load_config(credentials / "kiosk.toml", etc).ui.maintenance_pin_file == etc / "pin"


def test_kiosk_ui_without_its_token_stops_with_a_clear_message(tmp_path: Path) -> None:
    # As under kiosk-ui.service: the config read from a copy, the token from a copy that is not there.
    copy = tmp_path / "credentials"
    copy.mkdir()
    (copy / "kiosk.toml").write_text(config_file(tmp_path).read_text())
    argv = ["--config", str(copy / "kiosk.toml"), "--config-base", str(tmp_path)]
    argv += ["--token-file", str(copy / "ui-token")]
    done = subprocess.run(
        [sys.executable, "-c", RUN_MAIN, *argv, "--window", "800x480"],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert f"kiosk ui: the UI token file {copy / 'ui-token'} does not exist" in done.stderr
