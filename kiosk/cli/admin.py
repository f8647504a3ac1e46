"""``kiosk admin``: staff accounts of the status page (add-user, passwd, remove-user, list-users).

The accounts live in the file ``[api] users_file`` names (argon2id hashes, mode 0600). A running
kiosk-core sees changes at once: a new password or a removed account ends that person's sessions.
Passwords are asked twice on the terminal, read from standard input (``--password-stdin``, for
scripts), or made up and printed once (``--generate``, for the installer's first account).
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kiosk.api.users import UserError, UserStore, check_password, generate_password
from kiosk.core.config import DEFAULT_CONFIG_PATH, load_config
from kiosk.core.errors import KioskError


def users_file(args: argparse.Namespace) -> Path:
    """The accounts file: ``--users-file``, else the config's ``[api] users_file``."""
    if args.users_file:
        return Path(args.users_file)
    return load_config(Path(args.config)).api.users_file


def _password(args: argparse.Namespace) -> tuple[str, bool]:
    """The new password and whether it was generated (so it must be printed)."""
    if args.generate:
        return generate_password(), True
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n"), False
    if not sys.stdin.isatty():
        raise KioskError("no terminal to ask for the password: use --password-stdin or --generate")
    first = getpass.getpass("New password: ")
    try:
        check_password(first)
    except UserError as exc:
        raise KioskError(str(exc)) from exc
    if getpass.getpass("Same password again: ") != first:
        raise KioskError("the two passwords differ; nothing was changed")
    return first, False


def _store(args: argparse.Namespace) -> UserStore:
    return UserStore(users_file(args))


def _set_password(args: argparse.Namespace, store_it: Callable[[str, str], None]) -> str | None:
    """Store ``args.name``'s password (given, or generated); the generated one, to show once, else None."""
    password, generated = _password(args)
    try:
        store_it(args.name, password)
    except UserError as exc:
        raise KioskError(str(exc)) from exc
    return password if generated else None


def _show_once(generated: str | None) -> None:
    if generated is not None:
        print(f"password (shown once): {generated}")


def cmd_add_user(args: argparse.Namespace) -> int:
    """``kiosk admin add-user NAME``."""
    store = _store(args)
    generated = _set_password(args, store.add)
    print(f"account {args.name!r} added to {store.path}")
    _show_once(generated)
    return 0


def cmd_passwd(args: argparse.Namespace) -> int:
    """``kiosk admin passwd NAME``: a new password; the account's sessions end."""
    store = _store(args)
    if args.name not in store.names():
        raise KioskError(f"there is no account named {args.name!r} in {store.path}")
    generated = _set_password(args, store.set_password)
    print(f"password of {args.name!r} changed; its sessions have ended")
    _show_once(generated)
    return 0


def cmd_remove_user(args: argparse.Namespace) -> int:
    """``kiosk admin remove-user NAME``."""
    store = _store(args)
    try:
        store.remove(args.name)
    except UserError as exc:
        raise KioskError(str(exc)) from exc
    print(f"account {args.name!r} removed; its sessions have ended")
    return 0


def cmd_list_users(args: argparse.Namespace) -> int:
    """``kiosk admin list-users``."""
    store = _store(args)
    names = store.names()
    if not names:
        print(f"no staff accounts in {store.path} (add one with 'kiosk admin add-user NAME')")
    for name in names:
        print(name)
    return 0


def add_admin_commands(subparsers: Any) -> None:
    """Add ``admin add-user|passwd|remove-user|list-users`` to the ``kiosk`` command's sub-command parsers.

    ``subparsers`` is what ``ArgumentParser.add_subparsers()`` returned; each command sets ``func``.
    """
    p: argparse.ArgumentParser = subparsers.add_parser("admin", help="staff accounts of the status page")
    sub = p.add_subparsers(dest="admin_command", required=True, metavar="ACTION")

    def common(q: argparse.ArgumentParser) -> None:
        q.add_argument(
            "--config", default=str(DEFAULT_CONFIG_PATH), help=f"config file (default {DEFAULT_CONFIG_PATH})"
        )
        q.add_argument("--users-file", default=None, help="accounts file (default: [api] users_file of the config)")

    def password_options(q: argparse.ArgumentParser) -> None:
        how = q.add_mutually_exclusive_group()
        how.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
        how.add_argument("--generate", action="store_true", help="make up a password and print it once")

    a = sub.add_parser("add-user", help="add a staff account")
    a.add_argument("name", help="account name: lower-case letters, digits, '.', '_' or '-'")
    common(a)
    password_options(a)
    a.set_defaults(func=cmd_add_user)

    c = sub.add_parser("passwd", help="give a staff account a new password (ends its sessions)")
    c.add_argument("name")
    common(c)
    password_options(c)
    c.set_defaults(func=cmd_passwd)

    r = sub.add_parser("remove-user", help="remove a staff account (ends its sessions)")
    r.add_argument("name")
    common(r)
    r.set_defaults(func=cmd_remove_user)

    ls = sub.add_parser("list-users", help="list the staff accounts")
    common(ls)
    ls.set_defaults(func=cmd_list_users)
