"""Secrets at rest on a station: ``kiosk install`` with a umask of 0 into a throwaway root, then every
file and folder it made, by owner and mode, and what the touchscreen's user can and cannot read.

The installer runs for real (``useradd --prefix``, ``chown`` by the ids the target root's own passwd and
group give): the test machine runs as root, as installing does. The owners are read back as numbers and
named through the target root's files, never this machine's. What kiosk-ui may read is decided twice: by
the plain permission rule (:func:`kiosk.ops.install.can_reach`) and by the kernel, opening each file as
the target system's ``kiosk-ui`` uid and groups — the attack itself.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from kiosk.ops.install import (
    UI_USER,
    USER,
    HostSystem,
    Installer,
    InstallError,
    Layout,
    can_reach,
    can_read,
    group_members,
)
from tests.ops.test_install import make_root
from tests.ops.test_units import SYSTEMD_DIR

HUB_TOKEN = "st_" + "k" * 40
ACCOUNT_FILES = {"etc/passwd", "etc/group", "etc/shadow", "etc/gshadow"}
"""What useradd and groupadd change (and their backups, ``etc/passwd-`` …): not the installer's own files."""

R, K, U = "root", USER, UI_USER
EXPECTED: dict[str, tuple[str, str, int]] = {
    "etc/kiosk": (R, K, 0o750),
    "etc/kiosk/kiosk.toml": (R, K, 0o640),
    "etc/kiosk/ui-token": (K, K, 0o600),
    "etc/kiosk/hub-token": (K, K, 0o600),
    "etc/kiosk/users.json": (K, K, 0o600),
    "var": (R, R, 0o755),
    "var/lib": (R, R, 0o755),
    "var/lib/kiosk": (K, K, 0o750),
    "etc/systemd": (R, R, 0o755),
    "etc/systemd/system": (R, R, 0o755),
    "etc/systemd/system/kiosk-core.service": (R, R, 0o644),
    "etc/systemd/system/kiosk-ui.service": (R, R, 0o644),
    "etc/udev": (R, R, 0o755),
    "etc/udev/rules.d": (R, R, 0o755),
    "etc/udev/rules.d/99-kiosk.rules": (R, R, 0o644),
    "etc/polkit-1": (R, R, 0o755),
    "etc/polkit-1/rules.d": (R, R, 0o755),
    "etc/polkit-1/rules.d/50-kiosk-ui-restart.rules": (R, R, 0o644),
}
"""Every path a fresh station install makes: owner, group, mode (whatever the umask)."""
SECRETS = ("etc/kiosk/ui-token", "etc/kiosk/hub-token", "etc/kiosk/users.json", "var/lib/kiosk/station.db")
"""What kiosk-ui must not read: kiosk-core's credentials, the staff accounts, the database."""


@dataclass
class Installed:
    root: Path
    before: set[str]
    passwd: str
    group: str

    def ids(self, name: str, text: str) -> int:
        return next(int(line.split(":")[2]) for line in text.splitlines() if line.split(":")[0] == name)

    def name(self, number: int, text: str) -> str:
        return next(line.split(":")[0] for line in text.splitlines() if int(line.split(":")[2]) == number)

    def owner(self, rel: str) -> tuple[str, str, int]:
        info = (self.root / rel).lstat()
        return self.name(info.st_uid, self.passwd), self.name(info.st_gid, self.group), stat.S_IMODE(info.st_mode)

    def groups_of(self, user: str) -> list[str]:
        """The user's own group and every group listing it (as initgroups gives a process)."""
        names = [line.split(":")[0] for line in self.group.splitlines()]
        return [g for g in names if g == user or user in (group_members(self.group, g) or set())]

    def chain(self, rel: str) -> list[tuple[tuple[str, str], int]]:
        """Owner and mode of each folder from the root down to ``rel``, then of ``rel``."""
        parts = Path(rel).parts
        chain = []
        for depth in range(len(parts) + 1):
            user, group, mode = self.owner(str(Path(*parts[:depth])) if depth else ".")
            chain.append(((user, group), mode))
        return chain

    def opens_as(self, user: str, rel: str) -> bool:
        """Whether a process with ``user``'s uid and groups (this root's numbers) can read ``rel``: the kernel says."""
        gids = [self.ids(g, self.group) for g in self.groups_of(user)]
        target = self.root / rel
        argv = ["ls", str(target)] if target.is_dir() else ["cat", str(target)]
        done = subprocess.run(
            argv,
            user=self.ids(user, self.passwd),
            group=self.ids(user, self.group),
            extra_groups=gids,
            capture_output=True,
            timeout=30,
            check=False,
        )
        return done.returncode == 0


@pytest.fixture
def installed() -> Iterator[Installed]:
    # A folder every user can pass through (pytest's own tmp_path is root's, 0700): the kernel's answer
    # for kiosk-ui must depend on the installer's modes alone.
    base = Path(tempfile.mkdtemp(prefix="kiosk-secrets-"))
    os.chmod(base, 0o755)  # noqa: S103 - passable by anyone, as / and /tmp are
    old = os.umask(0)
    try:
        root = make_root(base / "root")
        token_source = base / "station.token"
        token_source.write_text(HUB_TOKEN + "\n")
        before = {str(p.relative_to(root)) for p in root.rglob("*")}
        layout = Layout(root=root, source=SYSTEMD_DIR)
        Installer(layout, HostSystem(root), systemctl=False, hub_token_file=token_source, say=lambda _: None).install()
        # What kiosk-core makes at its first start (UMask=0027 in its unit), to ask about the database too.
        database = layout.at(layout.data_dir / "station.db")
        database.write_bytes(b"SQLite format 3\0")
        os.chmod(database, 0o640)
        os.chown(database, (layout.at(layout.data_dir)).stat().st_uid, (layout.at(layout.data_dir)).stat().st_gid)
        yield Installed(root, before, (root / "etc/passwd").read_text(), (root / "etc/group").read_text())
    finally:
        os.umask(old)
        shutil.rmtree(base)


def test_every_file_and_folder_the_installer_makes_has_its_owner_and_mode(installed: Installed) -> None:
    made = {str(p.relative_to(installed.root)) for p in installed.root.rglob("*")} - installed.before
    made -= {f + "-" for f in ACCOUNT_FILES} | {"var/lib/kiosk/station.db"}
    assert sorted(made) == sorted(EXPECTED)
    assert {rel: installed.owner(rel) for rel in sorted(made)} == EXPECTED


def test_the_hub_token_is_the_one_given(installed: Installed) -> None:
    assert (installed.root / "etc/kiosk/hub-token").read_text() == HUB_TOKEN + "\n"


def test_the_touchscreen_user_is_in_no_group_that_opens_the_secrets(installed: Installed) -> None:
    assert sorted(installed.groups_of(UI_USER)) == sorted([UI_USER, "video", "render"])
    assert USER not in installed.groups_of(UI_USER)


@pytest.mark.parametrize("rel", SECRETS)
def test_kiosk_ui_cannot_read_a_secret_by_its_owner_and_mode(installed: Installed, rel: str) -> None:
    chain = installed.chain(rel)
    assert can_reach(chain, UI_USER, installed.groups_of(UI_USER)) is False
    assert can_reach(chain, USER, installed.groups_of(USER)) is True  # kiosk-core still can


@pytest.mark.parametrize("rel", SECRETS)
def test_kiosk_ui_is_refused_by_the_kernel_when_it_opens_a_secret(installed: Installed, rel: str) -> None:
    assert installed.opens_as(UI_USER, rel) is False
    assert installed.opens_as(USER, rel) is True


def test_kiosk_ui_cannot_list_the_config_or_data_folder(installed: Installed) -> None:
    for rel in ("etc/kiosk", "var/lib/kiosk"):
        assert can_reach(installed.chain(rel), UI_USER, installed.groups_of(UI_USER), directory=True) is False
        assert can_reach(installed.chain(rel), USER, installed.groups_of(USER), directory=True) is True
        assert (installed.opens_as(UI_USER, rel), installed.opens_as(USER, rel)) == (False, True)


def test_the_attack_harness_can_read_what_kiosk_ui_may_read(installed: Installed) -> None:
    # The same process as above opens the world-readable unit file: the refusals are the modes' doing.
    assert installed.opens_as(UI_USER, "etc/systemd/system/kiosk-ui.service") is True
    assert can_reach(installed.chain("etc/systemd/system/kiosk-ui.service"), UI_USER, [UI_USER]) is True


# --- the permission rule itself ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("owner", "mode", "user", "groups", "readable"),
    [
        (("kiosk", "kiosk"), 0o600, "kiosk", ["kiosk"], True),
        (("kiosk", "kiosk"), 0o600, "kiosk-ui", ["kiosk-ui", "video"], False),
        (("kiosk", "kiosk"), 0o640, "kiosk-ui", ["kiosk-ui", "kiosk"], True),
        (("kiosk", "kiosk"), 0o604, "kiosk-ui", ["kiosk-ui"], True),
        (("kiosk", "kiosk"), 0o064, "kiosk", ["kiosk"], False),  # the owner's bits decide for the owner
        (("root", "kiosk"), 0o640, "kiosk-ui", ["kiosk-ui"], False),
    ],
)
def test_can_read_follows_the_owner_group_others_rule(
    owner: tuple[str, str], mode: int, user: str, groups: list[str], readable: bool
) -> None:
    assert can_read(owner, mode, user, groups) is readable


def test_a_folder_without_search_permission_hides_a_world_readable_file() -> None:
    chain = [(("root", "root"), 0o755), (("root", "kiosk"), 0o750), (("kiosk", "kiosk"), 0o644)]
    assert can_reach(chain, "kiosk-ui", ["kiosk-ui"]) is False
    assert can_reach(chain, "kiosk", ["kiosk"]) is True


# --- the hub token given to the installer ------------------------------------------------------


def test_an_oversized_hub_token_file_is_refused_before_it_is_read(tmp_path: Path) -> None:
    root = make_root(tmp_path / "root")
    big = tmp_path / "big.token"
    big.write_bytes(b"x" * 100_000)
    layout = Layout(root=root, source=SYSTEMD_DIR)
    installer = Installer(layout, HostSystem(root), systemctl=False, hub_token_file=big, say=lambda _: None)
    with pytest.raises(InstallError, match="longer than 4096 bytes"):
        installer.install()
    assert not layout.at(layout.config_dir).exists()  # refused before anything changed


def test_a_hub_token_file_with_two_lines_is_refused(tmp_path: Path) -> None:
    root = make_root(tmp_path / "root")
    two = tmp_path / "two.token"
    two.write_text("one\ntwo\n")
    layout = Layout(root=root, source=SYSTEMD_DIR)
    installer = Installer(layout, HostSystem(root), systemctl=False, hub_token_file=two, say=lambda _: None)
    with pytest.raises(InstallError, match="one token on one line"):
        installer.install()
