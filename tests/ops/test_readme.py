"""The README walked from a fresh clone: every shell command it shows runs, in order, and prints what it says.

How a block is run, skipped or kept in the background is in :mod:`tests.ops.readme_walk`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.ops.processes import ROOT
from tests.ops.readme_walk import Ports, ReadmeError, Walk, parse_readme

README = ROOT / "README.md"


def test_every_command_the_readme_shows_runs_and_prints_what_it_says(tmp_path: Path) -> None:
    blocks = parse_readme(README.read_text(encoding="utf-8"))
    walk = Walk(tmp_path)
    try:
        walk.run(blocks)
    finally:
        walk.close()
    assert walk.ran == [step.command for block in blocks if block.skip is None for step in block.steps]


def test_only_commands_that_cannot_run_here_are_skipped_and_each_says_why() -> None:
    blocks = parse_readme(README.read_text(encoding="utf-8"))
    skipped = [block for block in blocks if block.skip is not None]
    assert {step.command.split("  #")[0].strip() for block in skipped for step in block.steps} == {
        "bash scripts/sim",
        "bash scripts/test",
        "sudo systemd/install.sh",
        "sudoedit /etc/kiosk/kiosk.toml",
        "kiosk doctor",
        "sudo systemctl start kiosk-core kiosk-ui",
    }
    assert all(len(block.skip or "") > 20 for block in skipped)
    run = [step for block in blocks if block.skip is None for step in block.steps]
    assert len(run) >= 20


def walk_text(tmp_path: Path, text: str) -> Walk:
    walk = Walk(tmp_path)
    try:
        walk.run(parse_readme(text))
    finally:
        walk.close()
    return walk


def test_a_command_that_fails_fails_the_walk_naming_its_line(tmp_path: Path) -> None:
    text = "# t\n\n```sh\ntrue\nkiosk no-such-command\n```\n"
    with pytest.raises(ReadmeError, match=r"README line 5: `kiosk no-such-command` failed \(exit 2\)"):
        walk_text(tmp_path, text)


def test_an_answer_that_never_shows_what_the_readme_says_fails_the_walk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("tests.ops.readme_walk.EXPECT_TIMEOUT_S", 0.5)
    text = "```sh\nkiosk version\n# → kiosk 99.0\n```\n"
    with pytest.raises(ReadmeError, match=r"never printed \['kiosk 99.0'\]"):
        walk_text(tmp_path, text)


def test_exported_variables_carry_over_and_home_is_a_fresh_folder(tmp_path: Path) -> None:
    text = '```sh\nexport GREETING=$(echo hello)\ntest "$GREETING" = hello\ntest ! -e ~/.local/state/kiosk-sim\n```\n'
    walk = walk_text(tmp_path, text)
    assert walk.ran[1:] == ['test "$GREETING" = hello', "test ! -e ~/.local/state/kiosk-sim"]


def test_an_unknown_marker_is_an_error_not_a_silent_run() -> None:
    with pytest.raises(ReadmeError, match="unknown readme-test option 'sometimes'"):
        parse_readme("<!-- readme-test: background; sometimes -->\n```sh\nkiosk sim\n```\n")


def test_default_ports_and_the_bootstrap_script_are_rewritten_for_the_walk() -> None:
    ports = Ports(station=18080, hub=18800)
    assert ports.rewrite("bash scripts/sim --hub http://127.0.0.1:8800") == (
        "kiosk sim --hub http://127.0.0.1:18800 --port 18080"
    )
    assert ports.rewrite("kiosk-hub serve") == "kiosk-hub serve --port 18800"
    assert ports.rewrite("curl http://127.0.0.1:8080/api/status") == "curl http://127.0.0.1:18080/api/status"
    assert ports.rewrite("kiosk sim --port 9000") == "kiosk sim --port 9000"
