"""The ``kiosk-hub`` command: serve, and administer stations, keys, codes, riders, content, operators, riders'
points, bookings, feedback and the battery registry.

Every command takes ``--db`` (a SQLite file, default ``./hub.db`` or ``$KIOSK_HUB_DB``, or a
``postgresql://`` URL). Secrets (station tokens, API keys) are printed once; only their hashes are kept.
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import logging
import os
import sys
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path

from hub.auth import ApiRole
from hub.cli_batteries import add_battery_commands
from hub.codes import RiderRevoked, issue_code
from hub.content import load_content_file
from hub.storage import AlreadyExists, Storage, StorageUnavailable, UnknownBattery, UnknownStation, open_storage
from hub.storage.points_models import BookingState, EntryKind, LedgerEntry
from kiosk import __version__
from kiosk.core.errors import KioskError
from kiosk.core.ridercode import MAX_LIFETIME, SCOPE_NAMES, CodeFormatError

DEFAULT_DB = "hub.db"
DEFAULT_PORT = 8800


def write_token_file(path: Path, token: str) -> None:
    """Write ``token`` to ``path`` readable by its owner only (0600), replacing the file atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, (token + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(tmp, 0o600)  # the mode given to open() is narrowed by the umask, never widened: be explicit
    os.replace(tmp, path)


def _print_secret(what: str, secret: str, token_file: Path | None) -> None:
    if token_file is not None:
        write_token_file(token_file, secret)
        print(f"{what} written to {token_file} (mode 0600); it is not shown again.")
    else:
        print(f"{what} (shown once, keep it safe): {secret}")


# --- commands ------------------------------------------------------------------------------------------


def _serve(storage: Storage, args: argparse.Namespace) -> int:
    from hub.server import serve

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    storage.signing_key()  # so the first bundle already carries a key
    serve(storage, args.host, args.port, utc_offset_minutes=args.utc_offset_minutes, api_docs=args.api_docs)
    return 0


def _station_add(storage: Storage, args: argparse.Namespace) -> int:
    token = storage.add_station(
        args.id, name=args.name, name_en=args.name_en or args.name, latitude=args.lat, longitude=args.lon
    )
    print(f"station {args.id} registered")
    _print_secret("token", token, args.token_file)
    return 0


def _station_list(storage: Storage, args: argparse.Namespace) -> int:
    beats = storage.heartbeats()
    print(f"{'id':<20} {'name':<24} {'events':>8} {'high water':>10}  last seen")
    for st in storage.stations():
        seen = [m for m in (st.last_event_at, beats[st.id].received_at if st.id in beats else None) if m]
        last = max(seen).strftime("%Y-%m-%d %H:%M UTC") if seen else "never"
        print(f"{st.id:<20} {st.name_en[:24]:<24} {st.event_count:>8} {st.high_water_seq:>10}  {last}")
    return 0


def _station_revoke_token(storage: Storage, args: argparse.Namespace) -> int:
    token = storage.new_station_token(args.id)
    print(f"the old token of station {args.id} no longer works")
    _print_secret("new token", token, args.token_file)
    return 0


def _keys_rotate(storage: Storage, args: argparse.Namespace) -> int:
    key = storage.rotate_key(timedelta(days=args.overlap_days))
    print(f"new signing key {key.kid}, valid from {key.valid_from:%Y-%m-%d %H:%M} UTC")
    for old in storage.valid_keys():
        if old.kid != key.kid and old.valid_until is not None:
            print(f"key {old.kid} stays valid until {old.valid_until:%Y-%m-%d %H:%M} UTC")
    return 0


def _keys_list(storage: Storage, args: argparse.Namespace) -> int:
    for key in storage.valid_keys():
        until = "no end" if key.valid_until is None else f"until {key.valid_until:%Y-%m-%d %H:%M} UTC"
        print(f"{key.kid:<8} {key.entry().public_key}  from {key.valid_from:%Y-%m-%d %H:%M} UTC, {until}")
    return 0


def _codes_issue(storage: Storage, args: argparse.Namespace) -> int:
    issued = issue_code(storage, args.rider, scope=args.scope, ttl=timedelta(seconds=args.ttl), points=args.points)
    print(issued.code)
    print(
        f"rider {issued.rider_id}, {'+'.join(issued.scopes)}, key {issued.kid},"
        f" expires {issued.expires_at:%Y-%m-%d %H:%M:%S} UTC",
        file=sys.stderr,
    )
    return 0


def _apikey_add(storage: Storage, args: argparse.Namespace) -> int:
    role = ApiRole(args.role)
    key = storage.add_api_key(args.name, role, operator=args.operator)
    can = {
        ApiRole.CODES: "issue rider codes (POST /v1/codes), nothing else",
        ApiRole.METRICS: "read /fleet and /fleet.csv, nothing else",
        ApiRole.OPERATOR: f"do what operator {args.operator} may do, recorded as theirs",
    }[role]
    print(f"API key {args.name} created (role {role.value}): it may {can}")
    _print_secret("key", key, args.key_file)
    return 0


def _apikey_list(storage: Storage, args: argparse.Namespace) -> int:
    for key in storage.api_keys():
        print(f"{key.name:<24} {key.role.value:<9} {key.operator or ''}".rstrip())
    return 0


def _apikey_remove(storage: Storage, args: argparse.Namespace) -> int:
    found = storage.remove_api_key(args.name)
    print(f"API key {args.name} {'removed: it no longer works' if found else 'did not exist'}")
    return 0 if found else 1


def _riders_revoke(storage: Storage, args: argparse.Namespace) -> int:
    fresh = storage.revoke_rider(args.id, args.reason)
    print(f"rider {args.id} {'revoked' if fresh else 'was already revoked'}; every bundle carries it")
    return 0


def _riders_unrevoke(storage: Storage, args: argparse.Namespace) -> int:
    found = storage.unrevoke_rider(args.id)
    print(f"rider {args.id} {'may use codes again' if found else 'was not revoked'}")
    return 0


def _riders_list(storage: Storage, args: argparse.Namespace) -> int:
    for rider in storage.revoked_riders():
        print(rider)
    return 0


def _content_load(storage: Storage, args: argparse.Namespace) -> int:
    content, city = load_content_file(args.file, storage.now())
    storage.load_content(content)
    print(
        f"content loaded: {len(content.services)} services, {len(content.announcements)} announcements,"
        f" {len(content.catalogue)} catalogue items, {len(content.points_rules)} points rules,"
        f" {len(content.config_overrides)} overrides; stations get it with their next bundle"
    )
    if city.slot_plans():
        slots = sum(len(s.slots) for s in content.services)
        print(
            f"{city.slot_plans()} slot plan(s) made into slots from now: {slots} slots in all"
            " (load the file again for later days)"
        )
    unused = city.sim_only_keys()
    if unused:
        print(
            f"not used by the hub: {', '.join(unused)} (the simulator's stand-ins for the hub's registered stations"
            " and riders' ledger)"
        )
    return 0


def _content_show(storage: Storage, args: argparse.Namespace) -> int:
    print(storage.content().model_dump_json(indent=2))
    return 0


def _positive(text: str) -> int:
    """An argparse type: a whole number of 1 or more (anything else exits 2 with the reason)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {value}")
    return value


def _bad_input(exc: Exception) -> int:
    """Say what was wrong with the input in plain words; exit code 2."""
    message = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
    print(f"kiosk-hub: {message}", file=sys.stderr)
    return 2


def _ledger_line(entry: LedgerEntry) -> str:
    sign = "-" if entry.kind is EntryKind.SPENT else "+"
    what = entry.rule or entry.item_id or ""
    return (
        f"{entry.at:%Y-%m-%d %H:%M}  {entry.rider_id:<20} {sign}{entry.points:<7} {entry.kind.value:<8}"
        f" {entry.status.value:<8} {entry.station_id or 'hub':<16} {what:<12} {entry.reason}"
    ).rstrip()


def _points_balance(storage: Storage, args: argparse.Namespace) -> int:
    print(f"rider {args.rider}: {storage.balance(args.rider)} points")
    return 0


def _points_ledger(storage: Storage, args: argparse.Namespace) -> int:
    entries = storage.ledger(rider_id=args.rider, station_id=args.station, limit=args.limit)
    if not entries:
        print("no points moved", file=sys.stderr)
    for entry in entries:
        print(_ledger_line(entry))
    return 0


def _points_credit(storage: Storage, args: argparse.Namespace) -> int:
    try:
        entry = storage.credit_points(args.rider, args.points, args.reason, by=args.by)
    except ValueError as exc:
        return _bad_input(exc)
    print(f"rider {entry.rider_id} credited {entry.points} points; balance now {storage.balance(entry.rider_id)}")
    return 0


def _bookings_list(storage: Storage, args: argparse.Namespace) -> int:
    status = None if args.status is None else BookingState(args.status)
    found = storage.bookings(status=status, station_id=args.station, limit=args.limit)
    if not found:
        print("no bookings", file=sys.stderr)
    for b in found:
        starts = "no time" if b.starts is None else f"{b.starts:%Y-%m-%d %H:%M} UTC"
        print(
            f"{b.booking_id:<38} {b.status.value:<9} {b.station_id:<16} {b.rider_id:<20}"
            f" {b.service_id}/{b.slot_id} at {starts}  {b.note}".rstrip()
        )
    return 0


def _bookings_set(status: BookingState) -> Handler:
    def handler(storage: Storage, args: argparse.Namespace) -> int:
        try:
            booking = storage.set_booking_status(args.id, status, args.note)
        except (KeyError, ValueError) as exc:
            return _bad_input(exc)
        print(f"booking {booking.booking_id} {booking.status.value}; station {booking.station_id} hears it next bundle")
        return 0

    return handler


def _feedback_list(storage: Storage, args: argparse.Namespace) -> int:
    rows = storage.recent_feedback(limit=args.limit, station_id=args.station)
    if not rows:
        print("no feedback", file=sys.stderr)
    for f in rows:
        who = f.rider_id or "anonymous"
        print(f"{f.at:%Y-%m-%d %H:%M}  {f.station_id:<16} {f.rating}/5 {f.topic:<15} {who:<20} {f.text}".rstrip())
    return 0


def _operator_add(storage: Storage, args: argparse.Namespace) -> int:
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass(f"password for {args.name}: ")
        if getpass.getpass("again: ") != password:
            print("the passwords differ; nothing changed", file=sys.stderr)
            return 1
    storage.set_operator(args.name, password)
    print(f"operator {args.name} can sign in at /login (for /fleet and /admin); their other sessions ended")
    return 0


# --- parser --------------------------------------------------------------------------------------------


Handler = Callable[[Storage, argparse.Namespace], int]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--db",
        default=os.environ.get("KIOSK_HUB_DB", DEFAULT_DB),
        help="SQLite file or postgresql:// URL (default: $KIOSK_HUB_DB or ./hub.db)",
    )
    common.add_argument(
        "--key-secret-file",
        type=Path,
        default=None,
        help="file with the key that encrypts the signing keys in the database, created 0600 if missing"
        " (default: $KIOSK_HUB_KEY_FILE, else <db>.key beside a SQLite file; needed for PostgreSQL)",
    )
    parser = argparse.ArgumentParser(prog="kiosk-hub", description="The city hub that stations sync to.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("version", help="print the version")

    def leaf(
        group: argparse._SubParsersAction[argparse.ArgumentParser], name: str, handler: Handler, help_: str
    ) -> argparse.ArgumentParser:
        p = group.add_parser(name, parents=[common], help=help_)
        p.set_defaults(handler=handler)
        return p

    p = leaf(sub, "serve", _serve, "serve the sync API and the fleet view")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    p.add_argument("--utc-offset-minutes", type=int, default=0, help="the city's time zone for per-day counts")
    p.add_argument(
        "--api-docs",
        action="store_true",
        help="serve /docs and /redoc to signed-in operators (their scripts load from a CDN; off by default)",
    )

    station = sub.add_parser("station", help="register stations and manage their tokens").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    p = leaf(station, "add", _station_add, "register a station and print its token once")
    p.add_argument("id", help="station id: lower-case letters, digits, '-'")
    p.add_argument("--name", required=True, help="name shown to riders (Chinese)")
    p.add_argument("--name-en", default=None, help="name in English")
    p.add_argument("--lat", type=float, default=None, help="latitude (for nearby stations)")
    p.add_argument("--lon", type=float, default=None, help="longitude")
    p.add_argument("--token-file", type=Path, default=None, help="write the token to this file (0600) instead")
    leaf(station, "list", _station_list, "list the stations")
    p = leaf(station, "revoke-token", _station_revoke_token, "replace a station's token with a new one")
    p.add_argument("id")
    p.add_argument("--token-file", type=Path, default=None, help="write the new token to this file (0600)")

    keys = sub.add_parser("keys", help="rider-code signing keys").add_subparsers(dest="action", required=True)
    p = leaf(keys, "rotate", _keys_rotate, "make a new signing key; older keys stay valid for the overlap")
    p.add_argument("--overlap-days", type=float, default=7.0, help="how long older keys stay valid (default 7)")
    leaf(keys, "list", _keys_list, "list the valid keys")

    codes = sub.add_parser("codes", help="rider codes").add_subparsers(dest="action", required=True)
    p = leaf(codes, "issue", _codes_issue, "issue a signed rider code")
    p.add_argument("--rider", required=True, help="rider id")
    p.add_argument("--scope", choices=sorted(SCOPE_NAMES), default="both", help="what the code allows")
    p.add_argument("--ttl", type=int, default=600, help="seconds until it expires (default 600)")
    p.add_argument("--points", type=int, default=None, help="points balance to show at the station")

    apikey = sub.add_parser("apikey", help="API keys: the rider app, monitors, operators' scripts").add_subparsers(
        dest="action", required=True
    )
    p = leaf(apikey, "add", _apikey_add, "create an API key with one role and print it once")
    p.add_argument("name")
    p.add_argument(
        "--role",
        choices=[r.value for r in ApiRole],
        default=ApiRole.CODES.value,
        help="codes: the rider app issues codes (default); metrics: read the fleet view; operator: act for --operator",
    )
    p.add_argument("--operator", default=None, help="the operator an operator key acts for (kiosk-hub operator add)")
    p.add_argument("--key-file", type=Path, default=None, help="write the key to this file (0600) instead")
    leaf(apikey, "list", _apikey_list, "list the API keys with their roles")
    p = leaf(apikey, "remove", _apikey_remove, "delete an API key (it stops working at once)")
    p.add_argument("name")

    riders = sub.add_parser("riders", help="rider revocations").add_subparsers(dest="action", required=True)
    p = leaf(riders, "revoke", _riders_revoke, "revoke a rider (in every bundle from now on)")
    p.add_argument("id")
    p.add_argument("--reason", default="", help="why (kept on the hub)")
    p = leaf(riders, "unrevoke", _riders_unrevoke, "lift a revocation")
    p.add_argument("id")
    leaf(riders, "list", _riders_list, "list revoked riders")

    content = sub.add_parser(
        "content", help="the city's services, announcements, catalogue and points rules"
    ).add_subparsers(dest="action", required=True)
    p = leaf(content, "load", _content_load, "load services, announcements, catalogue, rules and overrides (JSON)")
    p.add_argument("file", type=Path)
    leaf(content, "show", _content_show, "print the current content as JSON")

    points = sub.add_parser("points", help="riders' points").add_subparsers(dest="action", required=True)
    p = leaf(points, "balance", _points_balance, "print a rider's balance")
    p.add_argument("rider")
    p = leaf(points, "ledger", _points_ledger, "list points entries, newest first")
    p.add_argument("--rider", default=None, help="only this rider's")
    p.add_argument("--station", default=None, help="only this station's")
    p.add_argument("--limit", type=_positive, default=100, help="at most this many (default 100)")
    p = leaf(points, "credit", _points_credit, "credit points to a rider (a community report, a goodwill gesture)")
    p.add_argument("rider")
    p.add_argument("points", type=_positive)
    p.add_argument("--reason", required=True, help="why (kept with the entry)")
    p.add_argument("--by", default=os.environ.get("USER", "cli"), help="who credits (default: $USER)")

    bookings = sub.add_parser("bookings", help="service bookings").add_subparsers(dest="action", required=True)
    p = leaf(bookings, "list", _bookings_list, "list bookings, newest request first")
    p.add_argument("--status", choices=[s.value for s in BookingState], default=None)
    p.add_argument("--station", default=None, help="only this station's")
    p.add_argument("--limit", type=_positive, default=200, help="at most this many (default 200)")
    for name, state in (("confirm", BookingState.CONFIRMED), ("decline", BookingState.DECLINED)):
        p = leaf(bookings, name, _bookings_set(state), f"{name} a booking (the station tells the rider)")
        p.add_argument("id")
        p.add_argument("--note", default="", help="words for the rider (where to go, why not)")

    feedback = sub.add_parser("feedback", help="riders' feedback").add_subparsers(dest="action", required=True)
    p = leaf(feedback, "list", _feedback_list, "list feedback, newest first")
    p.add_argument("--station", default=None, help="only this station's")
    p.add_argument("--limit", type=_positive, default=50, help="at most this many (default 50)")

    operator = sub.add_parser("operator", help="logins for the fleet view and the admin pages").add_subparsers(
        dest="action", required=True
    )
    p = leaf(operator, "add", _operator_add, "add an operator or change their password")
    p.add_argument("name")
    p.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    add_battery_commands(sub, leaf)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``kiosk-hub``."""
    args = build_parser().parse_args(argv)
    if args.command == "version":
        print(f"kiosk-hub {__version__}")
        return 0
    if args.command == "codes" and not 0 < args.ttl <= MAX_LIFETIME.total_seconds():
        print(f"--ttl must be 1 to {int(MAX_LIFETIME.total_seconds())} seconds", file=sys.stderr)
        return 2
    try:
        storage = open_storage(
            args.db, utc_offset_minutes=getattr(args, "utc_offset_minutes", 0), key_file=args.key_secret_file
        )
    except (StorageUnavailable, KioskError) as exc:
        print(f"kiosk-hub: {exc}", file=sys.stderr)
        return 1
    try:
        return int(args.handler(storage, args))
    except UnknownBattery as exc:
        print(f"kiosk-hub: {exc.args[0]}", file=sys.stderr)
        return 1
    except (AlreadyExists, UnknownStation, RiderRevoked, CodeFormatError, KioskError, ValueError, OSError) as exc:
        print(f"kiosk-hub: {exc}", file=sys.stderr)
        return 1
    finally:
        storage.close()


if __name__ == "__main__":
    sys.exit(main())
