"""``kiosk-hub apikey add --role / list / remove`` against the database a running hub serves (both engines).

The keys are made by the command, as an operator makes them, and tried over HTTP against the hub on
loopback: each role reaches what it is for and nothing else, ``list`` names them without their secrets,
and a key ``remove`` deleted is refused by the hub that was already running.
"""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
import requests

from hub.cli import main
from hub.server import HubServer
from hub.storage import Storage
from tests.hub.admin_support import OPERATOR, City, seed

ROLES = {"rider-app": ["--role", "codes"], "monitor": ["--role", "metrics"]}


@pytest.fixture
def city(hub: HubServer, storage: Storage) -> City:
    return seed(hub, storage)


def cli(capsys: pytest.CaptureFixture[str], db: str, *words: str) -> tuple[int, str, str]:
    """``kiosk-hub apikey WORDS…`` on ``db``: exit code, standard output, standard error."""
    code = main(["apikey", words[0], "--db", db, *words[1:]])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def keys(capsys: pytest.CaptureFixture[str], city: City, db_target: str, tmp_path: Path) -> dict[str, str]:
    """One key of each role made by the command, each written to its own file: {name: secret}."""
    made = {}
    for name, options in {**ROLES, "city-scripts": ["--role", "operator", "--operator", OPERATOR]}.items():
        path = tmp_path / f"{name}.key"
        code, out, _ = cli(capsys, db_target, "add", name, *options, "--key-file", str(path))
        assert code == 0, out
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        made[name] = path.read_text().strip()
        assert made[name] not in out
    return made


def get(city: City, key: str, path: str) -> int:
    return requests.get(f"{city.url}{path}", headers={"Authorization": f"Bearer {key}"}, timeout=30).status_code


def issue(city: City, key: str) -> int:
    answer = requests.post(
        f"{city.url}/v1/codes", json={"rider_id": "R-1"}, headers={"Authorization": f"Bearer {key}"}, timeout=30
    )
    return answer.status_code


def test_each_role_made_by_the_command_reaches_what_it_is_for_only(city: City, keys: dict[str, str]) -> None:
    got = {
        "rider-app": (issue(city, keys["rider-app"]), get(city, keys["rider-app"], "/fleet")),
        "monitor": (get(city, keys["monitor"], "/fleet"), issue(city, keys["monitor"])),
        "city-scripts": (get(city, keys["city-scripts"], "/admin"), issue(city, keys["city-scripts"])),
    }
    assert got == {"rider-app": (200, 403), "monitor": (200, 403), "city-scripts": (200, 403)}
    assert get(city, keys["monitor"], "/admin") == 403


def test_the_command_says_what_each_role_may_do(capsys: pytest.CaptureFixture[str], city: City, db_target: str) -> None:
    _, out, _ = cli(capsys, db_target, "add", "monitor", "--role", "metrics")
    assert "role metrics" in out
    assert "read /fleet and /fleet.csv, nothing else" in out
    _, out, _ = cli(capsys, db_target, "add", "scripts", "--role", "operator", "--operator", OPERATOR)
    assert f"do what operator {OPERATOR} may do, recorded as theirs" in out


def test_an_operator_key_without_a_known_operator_is_refused(
    capsys: pytest.CaptureFixture[str], city: City, db_target: str
) -> None:
    code, out, err = cli(capsys, db_target, "add", "scripts", "--role", "operator")
    assert (code, "--operator" in err, "key" in out) == (1, True, False)
    code, _, err = cli(capsys, db_target, "add", "scripts", "--role", "operator", "--operator", "nobody")
    assert (code, "no operator" in err) == (1, True)
    assert "scripts" not in cli(capsys, db_target, "list")[1]


def test_list_names_every_key_with_its_role_and_operator_but_no_secret(
    capsys: pytest.CaptureFixture[str], db_target: str, keys: dict[str, str]
) -> None:
    code, out, _ = cli(capsys, db_target, "list")
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines()}
    assert (code, rows) == (0, {"rider-app": ["codes"], "monitor": ["metrics"], "city-scripts": ["operator", OPERATOR]})
    assert [name for name, secret in keys.items() if secret in out or secret[:12] in out] == []


def test_a_removed_key_is_refused_by_the_running_hub(
    capsys: pytest.CaptureFixture[str], city: City, db_target: str, keys: dict[str, str]
) -> None:
    assert get(city, keys["monitor"], "/fleet") == 200  # known to the hub before the removal
    code, out, _ = cli(capsys, db_target, "remove", "monitor")
    assert (code, "removed: it no longer works" in out) == (0, True)
    assert get(city, keys["monitor"], "/fleet") == 401
    assert get(city, keys["monitor"], "/fleet.csv") == 401
    assert "monitor" not in cli(capsys, db_target, "list")[1]
    # The other keys are untouched.
    assert (issue(city, keys["rider-app"]), get(city, keys["city-scripts"], "/admin")) == (200, 200)


def test_removing_an_operator_key_ends_what_it_could_do(
    capsys: pytest.CaptureFixture[str], city: City, db_target: str, keys: dict[str, str]
) -> None:
    assert cli(capsys, db_target, "remove", "city-scripts")[0] == 0
    assert get(city, keys["city-scripts"], "/admin") == 401


def test_removing_an_unknown_key_is_an_error(capsys: pytest.CaptureFixture[str], city: City, db_target: str) -> None:
    code, out, _ = cli(capsys, db_target, "remove", "nobody")
    assert (code, "did not exist" in out) == (1, True)
