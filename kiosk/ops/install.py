"""``kiosk install`` / ``kiosk uninstall``: put a station (or a city hub) on Raspberry Pi OS.

``systemd/install.sh`` does what must happen before this module can run (apt packages, the venv at
``/opt/kiosk/venv`` with ``--system-site-packages`` so apt's python3-lgpio is importable, the project
installed into it), then calls ``kiosk install --source <checkout>/systemd``. This module does the rest:

- the ``kiosk`` system user (kiosk-core), in the groups that reach GPIO, serial and input devices, and
  the ``kiosk-ui`` system user (the touchscreen), in the display's groups only — never in ``kiosk``;
- ``/etc/kiosk`` (root:kiosk 0750) with an example config if there is none (never overwritten, 0640)
  and a generated UI token (kiosk 0600, printed once); kiosk-ui gets copies of those two through
  systemd's ``LoadCredential=`` and cannot open the folder;
- the station's hub token, copied from ``--hub-token-file`` (kiosk 0600);
- the data folder (kiosk 0750), which must be a persistent partition when the root is read-only;
- the udev rules, the systemd units (enabled), console blanking off on the kernel command line;
- the first staff login for the status page (``users.json``, kiosk 0600, password printed once).

Every secret file gets its owner and mode whatever the umask, again on every run (see :data:`SECRET_MODE`
and docs/security.md); folders the installer has to make on the way are root's, 0755.

Everything is root-relocatable: paths are given as the installed system sees them and written under
``Layout.root``, and every command goes through a :class:`System`, so a test installs into a throwaway
folder and reads back the commands and owners instead of touching the machine's users.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from kiosk.api.users import UserError, UserStore, generate_password
from kiosk.core.config import parse_config
from kiosk.core.config_example import example_toml
from kiosk.core.errors import ConfigError, KioskError

USER = "kiosk"
"""The unprivileged user kiosk-core runs as (and its own group): owns the secrets and the database."""
GROUPS = ("gpio", "dialout", "input")
"""Its extra groups: /dev/gpiochip*, serial adapters and serial scanners, keyboard-mode scanners."""
UI_USER = "kiosk-ui"
"""The user kiosk-ui runs as (and its own group, which udev gives the touchscreen's input device)."""
UI_GROUPS = ("video", "render")
"""Its extra groups: /dev/dri (KMS and the GPU)."""
UI_FORBIDDEN_GROUPS = (USER,)
"""Groups kiosk-ui must never be in: ``kiosk`` opens /etc/kiosk and the data folder."""
STATION_UNITS = ("kiosk-core.service", "kiosk-ui.service")
HUB_UNITS = ("kiosk-hub.service",)
UDEV_RULES = "99-kiosk.rules"
POLKIT_RULE = "50-kiosk-ui-restart.rules"
"""Lets kiosk-core restart kiosk-ui (the status page's action), nothing else."""
USERS_FILE = "users.json"
"""The status page's accounts file in the config folder (``kiosk admin``'s default)."""
HUB_TOKEN_FILE = "hub-token"  # noqa: S105 - a file name
"""The station's token for the city hub in the config folder (``[sync] token_file``'s default)."""
SECRET_MODE = 0o600
"""Every secret file (UI token, hub token, staff accounts): readable and writable by ``kiosk`` only."""
MAX_TOKEN_BYTES = 4096
"""A token file given to the installer is refused above this size (before it is read)."""
DROP_IN = "kiosk-core.service.d/paths.conf"
CMDLINE_FILES = (Path("/boot/firmware/cmdline.txt"), Path("/boot/cmdline.txt"))
"""The kernel command line: Bookworm's place first, then the older one."""

# What the unit files in systemd/ say; the installer rewrites them only when the layout differs.
_UNIT_VENV = "/opt/kiosk/venv"
_UNIT_CONFIG = "/etc/kiosk/kiosk.toml"
_UNIT_CONFIG_DIR = "/etc/kiosk"
_UNIT_UI_TOKEN = "/etc/kiosk/ui-token"  # noqa: S105 - a path
_UNIT_DATA = "/var/lib/kiosk"
_ROOT = ("root", "root")


class InstallError(KioskError):
    """The installation cannot go on (a command failed, a file is missing)."""


@dataclass(frozen=True)
class Layout:
    """Where things go, as the installed system sees them; ``root`` is where that system is on this machine."""

    root: Path = Path("/")
    source: Path = Path(__file__).resolve().parents[2] / "systemd"
    """The folder with the unit files and udev rules (``systemd/`` of the checkout)."""
    venv: Path = Path(_UNIT_VENV)
    config_dir: Path = Path("/etc/kiosk")
    data_dir: Path = Path(_UNIT_DATA)
    unit_dir: Path = Path("/etc/systemd/system")
    udev_dir: Path = Path("/etc/udev/rules.d")
    polkit_dir: Path = Path("/etc/polkit-1/rules.d")

    def at(self, path: Path) -> Path:
        """Where ``path`` of the installed system lies on this machine."""
        return self.root / path.relative_to("/")

    @property
    def config_file(self) -> Path:
        """The station's config file."""
        return self.config_dir / "kiosk.toml"

    @property
    def ui_token(self) -> Path:
        """The token the touchscreen app presents to kiosk-core."""
        return self.config_dir / "ui-token"

    @property
    def users_file(self) -> Path:
        """The status page's staff accounts (``[api] users_file``'s default)."""
        return self.config_dir / USERS_FILE

    @property
    def hub_token(self) -> Path:
        """The station's token for the city hub (``[sync] token_file``'s default)."""
        return self.config_dir / HUB_TOKEN_FILE

    @property
    def live(self) -> bool:
        """True when installing into the running system (not a folder standing in for one)."""
        return self.root == Path("/")


class System(Protocol):
    """The installer's way to change the machine: commands and file owners (a test records them)."""

    def run(self, argv: Sequence[str], *, stdin: str | None = None) -> int:
        """Run a command; its exit code."""
        ...

    def chown(self, path: Path, user: str, group: str) -> None:
        """Give ``path`` (on this machine) to ``user``:``group`` as the installed system names them."""
        ...


def _ids(text: str, name: str) -> int | None:
    """The numeric id of ``name`` in the text of a passwd or group file (field 3), or None."""
    for line in text.splitlines():
        fields = line.split(":")
        if len(fields) >= 3 and fields[0] == name:
            return int(fields[2])
    return None


def group_members(group_text: str, group: str) -> set[str] | None:
    """The members listed for ``group`` in the text of a group file; None if there is no such group."""
    for line in group_text.splitlines():
        fields = line.split(":")
        if len(fields) >= 4 and fields[0] == group:
            return {m for m in fields[3].split(",") if m}
    return None


class HostSystem:
    """The real thing: subprocesses, and owners looked up in the target root's own passwd and group."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def run(self, argv: Sequence[str], *, stdin: str | None = None) -> int:
        """Run ``argv`` with its output going to ours."""
        return subprocess.run(list(argv), input=stdin, text=True, check=False).returncode  # noqa: S603 - fixed commands

    def chown(self, path: Path, user: str, group: str) -> None:
        """chown by the ids the target system gives those names (its /etc files, not this machine's)."""
        uid = _ids((self.root / "etc/passwd").read_text(encoding="utf-8"), user)
        gid = _ids((self.root / "etc/group").read_text(encoding="utf-8"), group)
        if uid is None or gid is None:
            raise InstallError(f"{user}:{group} is not a user and group of {self.root}")
        os.chown(path, uid, gid, follow_symlinks=False)


def _user_commands(
    prefix: list[str], passwd_text: str, group_text: str, user: str, groups: Sequence[str], useradd: list[str]
) -> list[list[str]]:
    """useradd for a missing ``user``, or usermod for the ``groups`` an existing one lacks."""
    if _ids(passwd_text, user) is None:
        return [["useradd", *prefix, *useradd, "--groups", ",".join(groups), user]]
    lacking = [g for g in groups if user not in (group_members(group_text, g) or set())]
    return [["usermod", *prefix, "--append", "--groups", ",".join(lacking), user]] if lacking else []


def account_commands(root: Path, passwd_text: str, group_text: str) -> list[list[str]]:
    """The groupadd/useradd/usermod commands that make the ``kiosk`` and ``kiosk-ui`` users as they should be (pure).

    Missing groups are created as system groups (``gpio`` is missing on plain Debian); an existing
    user only gets the groups it lacks, so running the installer again changes nothing. Both are
    system users with their own group and no login shell; ``kiosk`` has the data folder as its home,
    ``kiosk-ui`` none at all. ``kiosk-ui`` is taken out of ``kiosk`` (and any group of
    :data:`UI_FORBIDDEN_GROUPS`) if someone put it there.
    """
    prefix = [] if root == Path("/") else ["--prefix", str(root)]
    wanted = dict.fromkeys((*GROUPS, *UI_GROUPS))
    commands = [["groupadd", *prefix, "--system", g] for g in wanted if group_members(group_text, g) is None]
    nologin = ["--system", "--user-group", "--no-create-home", "--shell", "/usr/sbin/nologin"]
    core = [*nologin, "--home-dir", _UNIT_DATA, "--comment", "station kiosk"]
    commands += _user_commands(prefix, passwd_text, group_text, USER, GROUPS, core)
    ui = [*nologin, "--home-dir", "/nonexistent", "--comment", "station kiosk touchscreen"]
    commands += _user_commands(prefix, passwd_text, group_text, UI_USER, UI_GROUPS, ui)
    wrong = [g for g in UI_FORBIDDEN_GROUPS if UI_USER in (group_members(group_text, g) or set())]
    if wrong:
        commands.append(["usermod", *prefix, "--remove", "--groups", ",".join(wrong), UI_USER])
    return commands


def can_read(owner: tuple[str, str], mode: int, user: str, groups: Sequence[str], *, directory: bool = False) -> bool:
    """Whether ``user`` (member of ``groups``, its own group included) may read a file, or list a folder.

    Plain POSIX permission bits, as the kernel checks them for a process without capabilities: the
    owner's bits if it is the owner, else the group's bits if it is in the file's group, else the
    others' bits. A folder must also be searchable (x) to reach what is in it.
    """
    file_user, file_group = owner
    shift = 6 if user == file_user else 3 if file_group in groups else 0
    bits = (mode >> shift) & 0o7
    return bool(bits & 0o4) and (not directory or bool(bits & 0o1))


def can_reach(
    path_owners: Sequence[tuple[tuple[str, str], int]], user: str, groups: Sequence[str], *, directory: bool = False
) -> bool:
    """Whether ``user`` can read the last of ``path_owners`` (each folder on the way, then the file or
    folder itself), each given as ``((owner, group), mode)``."""
    *folders, last = path_owners
    for owner, mode in folders:
        shift = 6 if user == owner[0] else 3 if owner[1] in groups else 0
        if not (mode >> shift) & 0o1:
            return False
    return can_read(*last, user, groups, directory=directory)


def with_consoleblank(cmdline: str) -> str:
    """The kernel command line with ``consoleblank=0`` (the text console never blanks); one line, as the Pi wants."""
    words = [w for w in cmdline.split() if not w.startswith("consoleblank=")]
    return " ".join([*words, "consoleblank=0"]) + "\n"


def unit_text(text: str, layout: Layout, ui_token: Path | None = None) -> str:
    """A unit file from ``systemd/`` adjusted to ``layout`` (the files name the default paths).

    ``ui_token`` is the UI token file the config names (kiosk-ui's ``LoadCredential=`` must copy the
    one kiosk-core checks); by default the layout's.
    """
    text = text.replace(_UNIT_VENV, str(layout.venv)).replace(_UNIT_CONFIG, str(layout.config_file))
    text = text.replace(_UNIT_UI_TOKEN, str(ui_token or layout.ui_token))
    return text.replace(f"--config-base {_UNIT_CONFIG_DIR} ", f"--config-base {layout.config_dir} ")


def example_config(layout: Layout) -> str:
    """The commented example config with this layout's data folder and token file."""
    text = example_toml()
    text = re.sub(r'(?m)^data_dir = ".*"$', f'data_dir = "{layout.data_dir}"', text)
    text = re.sub(r'(?m)^users_file = ".*"$', f'users_file = "{layout.users_file}"', text)
    text = re.sub(r'(?m)^token_file = ".*"$', f'token_file = "{layout.hub_token}"', text)
    return re.sub(r'(?m)^ui_token_file = ".*"$', f'ui_token_file = "{layout.ui_token}"', text)


@dataclass(frozen=True)
class SecretFiles:
    """Where the config puts the station's secret files, as the installed system sees them."""

    ui_token: Path
    users: Path
    hub_token: Path


def secret_files(layout: Layout, config_text: str | None) -> SecretFiles:
    """The secret files ``config_text`` names (relative paths: against the config folder); the layout's
    defaults when there is no config or it cannot be parsed (``kiosk doctor`` says what is wrong with it)."""
    defaults = SecretFiles(layout.ui_token, layout.users_file, layout.hub_token)
    if config_text is None:
        return defaults
    try:
        config = parse_config(config_text)
    except ConfigError:
        return defaults

    def installed(path: Path) -> Path:
        return path if path.is_absolute() else layout.config_dir / path

    return SecretFiles(
        installed(config.api.ui_token_file), installed(config.api.users_file), installed(config.sync.token_file)
    )


@dataclass
class InstallResult:
    """What an install did, for the summary printed at its end."""

    written: list[Path] = field(default_factory=list)
    kept: list[Path] = field(default_factory=list)
    ui_token: str | None = None
    """Set when the token was generated now (printed once)."""
    admin_password: str | None = None
    """Set when the first staff login was created now (printed once)."""
    notes: list[str] = field(default_factory=list)


class Installer:
    """Installs or removes a station (``station=True``) and/or a hub (``hub=True``) in ``layout``."""

    def __init__(
        self,
        layout: Layout,
        system: System,
        *,
        station: bool = True,
        hub: bool = False,
        systemctl: bool = True,
        hub_token_file: Path | None = None,
        say: Callable[[str], None] = print,
    ) -> None:
        self.layout = layout
        self.system = system
        self.station = station
        self.hub = hub
        self.systemctl = systemctl
        self.hub_token_file = hub_token_file
        """A token file from ``kiosk-hub station add --token-file`` (on this machine) to install, or None."""
        self.say = say

    # --- small helpers ----------------------------------------------------------------------------

    def _must(self, argv: Sequence[str], *, stdin: str | None = None) -> None:
        code = self.system.run(argv, stdin=stdin)
        if code != 0:
            raise InstallError(f"'{' '.join(argv)}' failed with exit code {code}")

    def _parents(self, real: Path) -> None:
        """Make the missing folders above ``real``: root's, 0755 whatever the umask."""
        missing = [p for p in real.parents if not p.exists()]
        for folder in reversed(missing):
            folder.mkdir()
            os.chmod(folder, 0o755)  # noqa: S103 - a folder like /etc/udev: root writes, all read
            self.system.chown(folder, *_ROOT)

    def _dir(self, path: Path, mode: int, user: str, group: str) -> None:
        real = self.layout.at(path)
        self._parents(real)
        real.mkdir(exist_ok=True)
        os.chmod(real, mode)
        self.system.chown(real, user, group)

    def _secure(self, path: Path, result: InstallResult | None) -> None:
        """An existing secret file kept as it is, but given to ``kiosk`` with mode 0600 (again)."""
        real = self.layout.at(path)
        if real.is_symlink() or not real.is_file():
            raise InstallError(f"{path} is not a plain file: a secret file must be one (remove it and run again)")
        os.chmod(real, SECRET_MODE)
        self.system.chown(real, USER, USER)
        if result is not None:
            result.kept.append(path)

    def _file(self, path: Path, text: str, mode: int, result: InstallResult, owner: tuple[str, str]) -> None:
        real = self.layout.at(path)
        self._parents(real)
        tmp = real.with_name(f".{real.name}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        try:
            os.write(fd, text.encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        os.chmod(tmp, mode)  # open() narrows by the umask; say the mode exactly
        os.replace(tmp, real)
        # Given away only once in place: until then it is root's, with the final (restrictive) mode.
        self.system.chown(real, *owner)
        result.written.append(path)

    def _source(self, name: str) -> str:
        path = self.layout.source / name
        try:
            return path.read_text(encoding="utf-8")
        except OSError as exc:
            raise InstallError(f"cannot read {path} ({exc.strerror}); pass --source <checkout>/systemd") from exc

    def _units(self) -> tuple[str, ...]:
        return (STATION_UNITS if self.station else ()) + (HUB_UNITS if self.hub else ())

    def _systemctl(self, *words: str) -> list[str]:
        root = [] if self.layout.live else [f"--root={self.layout.root}"]
        return ["systemctl", *root, *words]

    # --- install ----------------------------------------------------------------------------------

    def install(self) -> InstallResult:
        """Install (again: every step leaves what is already right alone); returns what it did."""
        result = InstallResult()
        secrets_at = secret_files(self.layout, None)
        # Checked before anything changes: a wrong file stops the install with nothing half done.
        hub_token = read_token_file(self.hub_token_file) if self.station and self.hub_token_file else None
        if self.station:
            self._accounts()
            self._folders()
            secrets_at = self._config(result)
            self._token(secrets_at.ui_token, result)
            self._hub_token(secrets_at.hub_token, hub_token, result)
            self._file(self.layout.udev_dir / UDEV_RULES, self._source(UDEV_RULES), 0o644, result, ("root", "root"))
            self._file(self.layout.polkit_dir / POLKIT_RULE, self._source(POLKIT_RULE), 0o644, result, ("root", "root"))
            self._cmdline(result)
        for unit in self._units():
            text = unit_text(self._source(unit), self.layout, secrets_at.ui_token)
            self._file(self.layout.unit_dir / unit, text, 0o644, result, _ROOT)
        if self.station and self.layout.data_dir != Path(_UNIT_DATA):
            text = f"# Written by kiosk install: the data folder is not {_UNIT_DATA}.\n[Service]\n"
            text += f"ReadWritePaths={self.layout.data_dir}\n"
            self._file(self.layout.unit_dir / DROP_IN, text, 0o644, result, _ROOT)
        if self.systemctl:
            self._enable()
        else:
            units = " ".join(self._units())
            result.notes.append(f"systemctl was not run: enable the units with 'systemctl enable {units}'")
        if self.station:
            self.first_admin(result, secrets_at.users)
        return result

    def _accounts(self) -> None:
        etc = self.layout.at(Path("/etc"))
        passwd = (etc / "passwd").read_text(encoding="utf-8")
        group = (etc / "group").read_text(encoding="utf-8")
        for argv in account_commands(self.layout.root, passwd, group):
            self._must(argv)

    def _folders(self) -> None:
        self._dir(self.layout.config_dir, 0o750, "root", USER)
        self._dir(self.layout.data_dir, 0o750, USER, USER)

    def _config(self, result: InstallResult) -> SecretFiles:
        """The config (kept if there is one); where it puts the secret files."""
        real = self.layout.at(self.layout.config_file)
        if real.exists():
            result.kept.append(self.layout.config_file)
            try:
                return secret_files(self.layout, real.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError):
                return secret_files(self.layout, None)
        self._file(self.layout.config_file, example_config(self.layout), 0o640, result, ("root", USER))
        result.notes.append(f"edit {self.layout.config_file} (station id, cabinet, bays, ports), then 'kiosk doctor'")
        return secret_files(self.layout, None)

    def _token(self, path: Path, result: InstallResult) -> None:
        # kiosk-core runs with a read-only /etc (ProtectSystem=strict), so it cannot create the token itself.
        if self.layout.at(path).exists():
            self._secure(path, result)
            return
        token = secrets.token_urlsafe(32)
        self._file(path, token + "\n", SECRET_MODE, result, (USER, USER))
        result.ui_token = token

    def _hub_token(self, path: Path, token: str | None, result: InstallResult) -> None:
        """Install the token given with ``--hub-token-file``; an existing one is kept (and secured)."""
        if token is None:
            if self.layout.at(path).exists():
                self._secure(path, result)
            return
        self._file(path, token + "\n", SECRET_MODE, result, (USER, USER))
        result.notes.append(f"the hub token is in {path}: set [sync] enabled = true and hub_url in the config")

    def _cmdline(self, result: InstallResult) -> None:
        for path in CMDLINE_FILES:
            real = self.layout.at(path)
            if real.is_file():
                text = real.read_text(encoding="utf-8")
                if "consoleblank=0" not in text.split():
                    self._file(path, with_consoleblank(text), real.stat().st_mode & 0o777, result, _ROOT)
                return
        result.notes.append("no /boot/firmware/cmdline.txt: add consoleblank=0 to the kernel command line yourself")

    def _enable(self) -> None:
        if self.layout.live:
            self._must(["systemctl", "daemon-reload"])
            if self.station:
                self._must(["udevadm", "control", "--reload"])
                self._must(["udevadm", "trigger", "--subsystem-match=tty", "--subsystem-match=input"])
        self._must(self._systemctl("enable", *self._units()))

    def first_admin(self, result: InstallResult, users: Path | None = None) -> None:
        """Create the status page's first login ``admin`` with a generated password (printed once).

        ``users`` is the accounts file as the installed system sees it (the config's ``[api] users_file``).
        A file that already has accounts is kept (and secured); its accounts are never touched.
        """
        users = users or self.layout.users_file
        real = self.layout.at(users)
        hint = f"create the first status-page login with: kiosk admin add-user admin --config {self.layout.config_file}"
        try:
            if real.exists():  # secured first: kiosk-core refuses an accounts file others can read
                self._secure(users, None)
            store = UserStore(real)
            if store.names():
                result.kept.append(users)
                return
            self._parents(real)
            password = generate_password()
            store.add("admin", password)
        except (OSError, KioskError, UserError) as exc:
            result.notes.append(f"the first login could not be created ({exc}); {hint}")
            return
        os.chmod(real, SECRET_MODE)
        self.system.chown(real, USER, USER)  # written by root just now; kiosk-core (user kiosk) must read it
        result.written.append(users)
        result.admin_password = password

    # --- uninstall --------------------------------------------------------------------------------

    def uninstall(self) -> list[Path]:
        """Disable and remove the units and udev rules; config, tokens, data and the users stay. Returns what stayed."""
        units = self._units()
        if self.systemctl:
            self.system.run(self._systemctl("disable", *(["--now"] if self.layout.live else []), *units))
        removed = [self.layout.unit_dir / u for u in units]
        if self.station:
            removed += [
                self.layout.unit_dir / DROP_IN,
                self.layout.udev_dir / UDEV_RULES,
                self.layout.polkit_dir / POLKIT_RULE,
            ]
        for path in removed:
            real = self.layout.at(path)
            if real.exists():
                real.unlink()
                self.say(f"removed {path}")
        drop_in_dir = self.layout.at(self.layout.unit_dir / DROP_IN).parent
        if drop_in_dir.is_dir() and not any(drop_in_dir.iterdir()):
            drop_in_dir.rmdir()
        if self.systemctl and self.layout.live:
            self.system.run(["systemctl", "daemon-reload"])
            if self.station:  # the touchscreen goes back to the group input
                self.system.run(["udevadm", "control", "--reload"])
        return [self.layout.config_dir, self.layout.data_dir] if self.station else []


def read_token_file(path: Path) -> str:
    """The one-line token in ``path`` (a file on this machine), its size checked before it is read."""
    try:
        with path.open("rb") as fp:
            data = fp.read(MAX_TOKEN_BYTES + 1)
        text = data.decode("utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise InstallError(f"cannot read the hub token file {path} ({exc})") from exc
    if len(data) > MAX_TOKEN_BYTES:
        raise InstallError(f"{path} is longer than {MAX_TOKEN_BYTES} bytes: not a token file (a token is one line)")
    if not text or "\n" in text or any(c.isspace() for c in text):
        raise InstallError(f"{path} does not hold one token on one line (as 'kiosk-hub station add' writes it)")
    return text


def summary(result: InstallResult) -> list[str]:
    """The lines printed after an install; secrets appear here and nowhere else."""
    lines = [f"wrote {p}" for p in result.written] + [f"kept {p} (already there)" for p in result.kept]
    if result.ui_token:
        lines.append(f"UI token (shown once; kiosk-core reads its file, kiosk-ui systemd's copy): {result.ui_token}")
    if result.admin_password:
        lines.append(f"status page login 'admin', password (shown once, change it): {result.admin_password}")
    lines += [f"next: {n}" for n in result.notes]
    return lines
