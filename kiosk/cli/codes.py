"""``kiosk codes``: make signing keys, issue rider codes, check a code against a key set.

For operators, technicians and the simulator. A real hub signs riders' codes itself; these commands
make the same codes from a key file, so a bench station can be tested with codes its scanner reads.
"""

from __future__ import annotations

import argparse
import io
import json
import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import segno

from kiosk.core.errors import ConfigError, KioskError, ProtocolError
from kiosk.core.ridercode import (
    KID_MAX_LENGTH,
    MAX_LIFETIME,
    SCOPE_NAMES,
    CodeFormatError,
    RiderCode,
    generate_key,
    public_key_to_b64,
    read_private_key,
    scope_words,
    sign_code,
    write_private_key,
)
from kiosk.station.codes import Accepted, KeyInfo, KeySet, key_to_json, read_scan, verify

_TTL_RE = re.compile(r"([0-9]+)([smhd]?)")
_TTL_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_ttl(text: str) -> timedelta:
    """``90``, ``90s``, ``5m``, ``2h``, ``1d`` → a duration; ``argparse.ArgumentTypeError`` otherwise."""
    match = _TTL_RE.fullmatch(text.strip())
    if not match or int(match.group(1)) == 0:
        raise argparse.ArgumentTypeError(f"expected a positive duration like 90s, 5m, 2h or 1d, got {text!r}")
    ttl = timedelta(seconds=int(match.group(1)) * _TTL_UNITS[match.group(2)])
    if ttl > MAX_LIFETIME:
        raise argparse.ArgumentTypeError(f"a code may live at most {MAX_LIFETIME.days} days")
    return ttl


def _qr(text: str) -> Any:
    # boost_error=False: the code is sized for level M; let a bigger version never sneak in silently.
    return segno.make(text, error="m", boost_error=False, micro=False)


def cmd_keygen(args: argparse.Namespace) -> int:
    """``kiosk codes keygen``: a new signing key file and its key set entry."""
    now = datetime.now(UTC).replace(microsecond=0)
    kid = args.kid or now.strftime("k%y%m%d")
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", kid) or len(kid) > KID_MAX_LENGTH:
        raise ConfigError(f"key id must be 1-{KID_MAX_LENGTH} letters, digits, '.', '_' or '-', got {kid!r}")
    out_dir = Path(args.out)
    path = out_dir / f"{kid}.key"
    key = generate_key()
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        write_private_key(path, key)
    except FileExistsError:
        raise KioskError(f"{path} already exists; choose another --kid (a key file is never overwritten)") from None
    except OSError as exc:
        raise KioskError(f"cannot write {path}: {exc.strerror or exc}") from exc
    entry = KeyInfo(kid=kid, public_key_b64=public_key_to_b64(key.public_key()), valid_from=now)
    print(f"wrote private key {path} (mode 0600; keep it secret, it signs rider codes)", file=sys.stderr)
    print('key set entry (add it to the "keys" list of the stations\' key set):', file=sys.stderr)
    print(json.dumps(key_to_json(entry), ensure_ascii=False))
    return 0


def cmd_issue(args: argparse.Namespace) -> int:
    """``kiosk codes issue``: sign a code for a rider and show it as text and as a QR code."""
    key_path = Path(args.key)
    key = read_private_key(key_path)
    kid = args.kid or key_path.name.removesuffix(".key")
    try:
        fields = RiderCode.issue(
            kid=kid,
            rider_id=args.rider,
            scopes=SCOPE_NAMES[args.scope],
            now=datetime.now(UTC),
            ttl=args.ttl,
            points=args.points,
        )
    except CodeFormatError as exc:
        raise ConfigError(f"cannot issue this code: {exc}") from None
    text = sign_code(fields, key)
    qr = _qr(text)
    print(text)
    if not args.no_qr:
        buffer = io.StringIO()
        qr.terminal(out=buffer, compact=True)
        sys.stdout.write(buffer.getvalue())
    if args.png:
        try:
            qr.save(args.png, kind="png", scale=args.scale, border=4)
        except OSError as exc:
            raise KioskError(f"cannot write {args.png}: {exc.strerror or exc}") from exc
    print(
        f"rider {fields.rider_id}, {'+'.join(scope_words(fields.scopes))}, key {kid}, "
        f"expires {fields.expires_at.isoformat()}, {len(text)} characters, QR version {qr.version}-M",
        file=sys.stderr,
    )
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    """``kiosk codes verify``: print what a station with this key set would decide (exit 0 accepted, 1 not)."""
    path = Path(args.keyset)
    try:
        keyset = KeySet.from_json(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read key set {path}: {exc.strerror or exc}") from exc
    except (ProtocolError, UnicodeDecodeError) as exc:
        raise ConfigError(f"key set {path}: {exc}") from None
    now = args.now or datetime.now(UTC)
    verdict = verify(
        read_scan(args.text),
        scope=SCOPE_NAMES[args.scope],
        keyset=keyset,
        revoked_riders=frozenset(args.revoked),
        nonce_seen=lambda nonce: False,  # a technician's check: no station nonce table here
        now=now,
        skew_s=args.skew,
    )
    if isinstance(verdict, Accepted):
        code = verdict.code
        points = "" if code.points is None else f", points {code.points}"
        print(
            f"accepted: rider {code.rider_id}, scopes {'+'.join(scope_words(code.scopes))}, key {code.kid}, "
            f"issued {code.issued_at.isoformat()}, expires {code.expires_at.isoformat()}, "
            f"nonce {code.nonce_hex}{points}"
        )
        return 0
    print(f"refused: {verdict.reason.value}")
    print(f"  {verdict.reason.message_en}")
    print(f"  {verdict.reason.message_zh}")
    known = [f"{name} {value}" for name, value in (("key", verdict.kid), ("rider", verdict.rider_id)) if value]
    if verdict.detail or known:
        print("  (" + "; ".join([*known, verdict.detail] if verdict.detail else known) + ")")
    return 1


def _aware_time(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an ISO 8601 time like 2026-01-01T08:00:00Z, got {text!r}") from None
    if moment.utcoffset() is None:
        raise argparse.ArgumentTypeError(f"{text!r} has no time zone (add 'Z' for UTC)")
    return moment


def _points(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if not 0 <= value <= 0xFFFF_FFFF:
        raise argparse.ArgumentTypeError("points must be from 0 to 4294967295")
    return value


def add_codes_commands(subparsers: Any) -> None:
    """Add ``codes keygen|issue|verify`` to the ``kiosk`` command's sub-command parsers.

    ``subparsers`` is what ``ArgumentParser.add_subparsers()`` returned; each command sets ``func``.
    """
    p: argparse.ArgumentParser = subparsers.add_parser("codes", help="make signing keys, issue and check rider codes")
    sub = p.add_subparsers(dest="codes_command", required=True, metavar="ACTION")

    k = sub.add_parser("keygen", help="make a signing key file and print its key set entry")
    k.add_argument("--kid", default=None, help=f"key id, 1-{KID_MAX_LENGTH} characters (default k<yymmdd>)")
    k.add_argument("--out", default=".", help="folder for <kid>.key (default: the current folder)")
    k.set_defaults(func=cmd_keygen)

    i = sub.add_parser("issue", help="sign a rider code; print it as text and QR")
    i.add_argument("--key", required=True, help="private key file made by 'kiosk codes keygen'")
    i.add_argument("--kid", default=None, help="key id (default: the key file's name without .key)")
    i.add_argument("--rider", required=True, help="rider id, 1-20 letters, digits, '.', '_' or '-'")
    i.add_argument("--scope", choices=sorted(SCOPE_NAMES), default="swap", help="what the code allows (default swap)")
    i.add_argument("--ttl", type=parse_ttl, default=timedelta(minutes=5), help="lifetime: 90s, 5m, 2h, 1d (default 5m)")
    i.add_argument("--points", type=_points, default=None, help="points balance to include")
    i.add_argument("--png", default=None, help="also write the QR code to this PNG file")
    i.add_argument("--scale", type=int, default=8, help="PNG pixels per QR module (default 8)")
    i.add_argument("--no-qr", action="store_true", help="print only the text, no QR code in the terminal")
    i.set_defaults(func=cmd_issue)

    v = sub.add_parser("verify", help="check a code against a key set as a station would")
    v.add_argument("text", help="the code's text (quote it: it may contain spaces)")
    v.add_argument("--keyset", required=True, help="key set JSON file")
    v.add_argument("--scope", choices=["swap", "entry"], default="swap", help="what it is scanned for (default swap)")
    v.add_argument("--now", type=_aware_time, default=None, help="check as of this time (default: now)")
    v.add_argument("--skew", type=float, default=120.0, help="clock-skew allowance in seconds (default 120)")
    v.add_argument("--revoked", action="append", default=[], metavar="RIDER", help="treat this rider as revoked")
    v.set_defaults(func=cmd_verify)
