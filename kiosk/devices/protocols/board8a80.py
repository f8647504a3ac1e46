"""Generic "8A/80" lock boards: frame encoders, decoders and stream splitters (pure).

Every frame ends with the XOR of all bytes before it. Boards are addressed 1-32 (DIP switches), locks
1-32 on the wire (a board usually drives 24). Requests (host to board), 5 bytes each:

- unlock ``8A <board> <lock> 11 <xor>``
- query one ``80 <board> <lock> 33 <xor>``, query all ``80 <board> 00 33 <xor>``

Replies (board to host):

- one lock ``<hdr> <board> <lock> <11|00> <xor>``: ``hdr`` is 80 for a query; an unlock is answered
  with 80 or an echoed 8A depending on the board, and unsolicited change reports use 82 (this layout
  for 82 is the project's assumption: the same as a one-lock answer)
- all locks ``80 <board> <b25-32> <b17-24> <b9-16> <b1-8> 33 <xor>`` (8 bytes), or on 24-lock boards
  ``80 <board> <b17-24> <b9-16> <b1-8> 33 <xor>`` (7 bytes, three status bytes)

Board addresses are 1-32 on DIP-switch boards and up to 0xC8 on some others; the codec accepts 1-0xC8
and the driver narrows it to the configured range.

Whether ``11`` (and a set bit) means open or closed depends on the lock's switch, so decoders return
the raw "set" flag and bits; the driver applies the polarity.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from functools import partial
from functools import reduce as _reduce
from operator import xor as _xor

from kiosk.core.errors import ProtocolError
from kiosk.devices.protocols import NEED_MORE, NOT_A_FRAME, Split, split_stream

QUERY = 0x80
"""Header of queries and of their answers."""
UNLOCK = 0x8A
"""Header of unlock commands (and of the unlock answer on boards that echo it)."""
REPORT = 0x82
"""Header of unsolicited change reports."""
UNLOCK_CODE = 0x11
QUERY_CODE = 0x33
SET = 0x11
CLEAR = 0x00
MAX_BOARD = 0xC8
"""Highest board address any known variant uses (DIP-switch boards stop at 32)."""
MAX_LOCK = 32
MAX_FRAME = 8
ALL_LENGTHS = (8, 7)
"""Query-all answers: 8 bytes (4 status bytes) or 7 bytes (3 status bytes, 24-lock boards)."""


def checksum(data: bytes) -> int:
    """XOR of every byte of ``data``."""
    return _reduce(_xor, data, 0)


def _with_checksum(body: bytes) -> bytes:
    return body + bytes([checksum(body)])


def _check_board(board: int) -> None:
    if not 1 <= board <= MAX_BOARD:
        raise ValueError(f"8A/80 board address must be 1-{MAX_BOARD}, got {board}")


def _check_lock(lock: int) -> None:
    if not 1 <= lock <= MAX_LOCK:
        raise ValueError(f"8A/80 lock number must be 1-32 (as on the wire), got {lock}")


def unlock_request(board: int, lock: int) -> bytes:
    """Pulse one lock open: ``8A b l 11 xor``."""
    _check_board(board)
    _check_lock(lock)
    return _with_checksum(bytes([UNLOCK, board, lock, UNLOCK_CODE]))


def query_request(board: int, lock: int) -> bytes:
    """Ask for one lock: ``80 b l 33 xor``."""
    _check_board(board)
    _check_lock(lock)
    return _with_checksum(bytes([QUERY, board, lock, QUERY_CODE]))


def query_all_request(board: int) -> bytes:
    """Ask for every lock of a board: ``80 b 00 33 xor``."""
    _check_board(board)
    return _with_checksum(bytes([QUERY, board, 0, QUERY_CODE]))


def lock_reply(board: int, lock: int, is_set: bool, *, header: int = QUERY) -> bytes:
    """A one-lock answer (or unlock answer, or 82 report): ``hdr b l 11|00 xor``."""
    if header not in (QUERY, UNLOCK, REPORT):
        raise ValueError(f"one-lock answers start with 80, 8A or 82, not {header:02x}")
    _check_board(board)
    _check_lock(lock)
    return _with_checksum(bytes([header, board, lock, SET if is_set else CLEAR]))


def all_reply(board: int, bits: int, *, status_bytes: int = 4) -> bytes:
    """A query-all answer (8 bytes, or 7 with ``status_bytes=3``); bit i of ``bits`` is lock i+1."""
    _check_board(board)
    if status_bytes not in (3, 4):
        raise ValueError("a query-all answer has 3 or 4 status bytes")
    if not 0 <= bits < 1 << (8 * status_bytes):
        raise ValueError(f"lock bits must fit in {8 * status_bytes} bits")
    return _with_checksum(bytes([QUERY, board, *bits.to_bytes(status_bytes, "big"), QUERY_CODE]))


class RequestKind(enum.Enum):
    """What a host asks of a board."""

    UNLOCK = "unlock"
    QUERY = "query"
    QUERY_ALL = "query_all"


@dataclass(frozen=True)
class Request:
    """A decoded request; ``lock`` is 1-based, 0 for QUERY_ALL."""

    kind: RequestKind
    board: int
    lock: int


@dataclass(frozen=True)
class LockReply:
    """A one-lock answer: ``header`` is 80, 8A (echoed unlock) or 82 (unsolicited report)."""

    header: int
    board: int
    lock: int
    is_set: bool
    """The state byte was 11 (what that means is a driver setting)."""


@dataclass(frozen=True)
class BoardReply:
    """A query-all answer: bit i of ``bits`` is lock i+1; ``status_bytes`` is 4 (8-byte frame) or 3 (7-byte)."""

    board: int
    bits: int
    status_bytes: int = 4

    def is_set(self, lock: int) -> bool:
        """The bit of ``lock`` (1-based)."""
        return bool(self.bits >> (lock - 1) & 1)


Reply = LockReply | BoardReply


def _problem_lock_frame(raw: bytes, headers: tuple[int, ...], codes: tuple[int, ...], min_lock: int) -> str | None:
    """Why ``raw`` is not a valid 5-byte frame of this shape (None when it is)."""
    if len(raw) != 5:
        return f"8A/80 frame must be 5 bytes here, got {len(raw)}"
    if raw[0] not in headers:
        return f"8A/80 frame starts with {raw[0]:02x}, expected one of {' '.join(f'{h:02x}' for h in headers)}"
    if not 1 <= raw[1] <= MAX_BOARD:
        return f"8A/80 board address {raw[1]} is outside 1-{MAX_BOARD}"
    if not min_lock <= raw[2] <= MAX_LOCK:
        return f"8A/80 lock number {raw[2]} is outside {min_lock}-32"
    if raw[3] not in codes:
        return f"8A/80 code byte {raw[3]:02x} is not {' or '.join(f'{c:02x}' for c in codes)}"
    if checksum(raw[:4]) != raw[4]:
        return f"8A/80 checksum wrong: {raw.hex(' ')} (expected {checksum(raw[:4]):02x})"
    return None


def _problem_all_frame(raw: bytes) -> str | None:
    size = len(raw)
    if size not in ALL_LENGTHS:
        return f"8A/80 query-all answer must be 8 or 7 bytes, got {size}"
    if raw[0] != QUERY:
        return f"8A/80 query-all answer starts with {raw[0]:02x}, expected 80"
    if not 1 <= raw[1] <= MAX_BOARD:
        return f"8A/80 board address {raw[1]} is outside 1-{MAX_BOARD}"
    if raw[size - 2] != QUERY_CODE:
        return f"8A/80 query-all answer has {raw[size - 2]:02x} where 33 belongs"
    if checksum(raw[: size - 1]) != raw[size - 1]:
        return f"8A/80 checksum wrong: {raw.hex(' ')} (expected {checksum(raw[: size - 1]):02x})"
    return None


_REPLY_HEADERS = (QUERY, UNLOCK, REPORT)


def decode_reply(raw: bytes) -> Reply:
    """Decode one answer or report. Raises ProtocolError (only) when it is not one."""
    if len(raw) in ALL_LENGTHS:
        problem = _problem_all_frame(raw)
        if problem:
            raise ProtocolError(problem)
        return BoardReply(board=raw[1], bits=int.from_bytes(raw[2:-2], "big"), status_bytes=len(raw) - 4)
    problem = _problem_lock_frame(raw, _REPLY_HEADERS, (SET, CLEAR), 1)
    if problem:
        raise ProtocolError(problem)
    return LockReply(header=raw[0], board=raw[1], lock=raw[2], is_set=raw[3] == SET)


def decode_request(raw: bytes) -> Request:
    """Decode one request. Raises ProtocolError (only) when it is not one."""
    if len(raw) == 5 and raw[0] == UNLOCK:
        problem = _problem_lock_frame(raw, (UNLOCK,), (UNLOCK_CODE,), 1)
        if problem:
            raise ProtocolError(problem)
        return Request(RequestKind.UNLOCK, raw[1], raw[2])
    problem = _problem_lock_frame(raw, (QUERY, UNLOCK), (QUERY_CODE,), 0)
    if problem:
        raise ProtocolError(problem)
    return Request(RequestKind.QUERY_ALL if raw[2] == 0 else RequestKind.QUERY, raw[1], raw[2])


def _could_be_all_reply(buffer: bytes, i: int, length: int) -> bool:
    """Whether the (short) bytes from ``i`` could still grow into a ``length``-byte query-all answer."""
    available = len(buffer) - i
    if available >= 2 and not 1 <= buffer[i + 1] <= MAX_BOARD:
        return False
    return not (available >= length - 1 and buffer[i + length - 2] != QUERY_CODE)


def _all_test(buffer: bytes, i: int, lengths: tuple[int, ...]) -> int:
    """A query-all answer of one of ``lengths`` at ``i``: its length, NEED_MORE, or NOT_A_FRAME."""
    available = len(buffer) - i
    waiting = False
    for length in lengths:
        if available >= length:
            if _problem_all_frame(buffer[i : i + length]) is None:
                # An 8-byte answer's first seven bytes never end in 33 + xor by chance here, because
                # its seventh byte is 33 itself: a 7-byte frame whose xor is 33 waits for an eighth.
                if length == 7 and 8 in lengths and buffer[i + 6] == QUERY_CODE and available < 8:
                    waiting = True
                    continue
                return length
        elif _could_be_all_reply(buffer, i, length):
            waiting = True
    return NEED_MORE if waiting else NOT_A_FRAME


def _reply_test(buffer: bytes, i: int, *, expect_all: bool, all_lengths: tuple[int, ...]) -> int:
    head = buffer[i]
    if head not in _REPLY_HEADERS:
        return NOT_A_FRAME
    available = len(buffer) - i
    all_verdict = _all_test(buffer, i, all_lengths) if head == QUERY else NOT_A_FRAME
    if all_verdict > 0:
        return all_verdict
    if expect_all and all_verdict == NEED_MORE:
        return NEED_MORE
    if available < 5:
        return NEED_MORE
    if _problem_lock_frame(buffer[i : i + 5], _REPLY_HEADERS, (SET, CLEAR), 1) is None:
        return 5
    return all_verdict


def split_replies(buffer: bytes, *, expect_all: bool = False, status_bytes: int | None = None) -> Split:
    """Cut bytes from the boards into answers and reports.

    A one-lock answer and the first five bytes of a query-all answer can look alike; with
    ``expect_all`` (the host just asked for all locks) a short ``80`` frame is held until a query-all
    answer can be complete, otherwise a valid five-byte frame is taken at once. ``status_bytes`` (3 or
    4) allows only that query-all length; None allows both.
    """
    lengths = ALL_LENGTHS if status_bytes is None else (status_bytes + 4,)
    return split_stream(buffer, partial(_reply_test, expect_all=expect_all, all_lengths=lengths))


def _request_test(buffer: bytes, i: int) -> int:
    head = buffer[i]
    if head not in (QUERY, UNLOCK):
        return NOT_A_FRAME
    if len(buffer) - i < 5:
        return NEED_MORE
    try:
        decode_request(buffer[i : i + 5])
    except ProtocolError:
        return NOT_A_FRAME
    return 5


def split_requests(buffer: bytes) -> Split:
    """Cut bytes from the host into requests (what a simulated board hears)."""
    return split_stream(buffer, _request_test)
