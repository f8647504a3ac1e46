"""Raw-socket attacks on an HTTP server on loopback, for the station's and the hub's limit tests.

Each helper does what a hostile client does (a huge body, half a request, a thousand idle connections)
with plain sockets, so nothing in between (requests, urllib3) fixes the request on the way.
"""

from __future__ import annotations

import select
import socket
import time
from urllib.parse import urlsplit

CHUNK = b"x" * (64 * 1024)


def address(url: str) -> tuple[str, int]:
    """Host and port of a ``http://host:port`` URL."""
    parts = urlsplit(url)
    assert parts.hostname is not None
    assert parts.port is not None
    return parts.hostname, parts.port


def connect(url: str, timeout: float = 10.0, source: str | None = None) -> socket.socket:
    """A connected TCP socket to the server (from ``source``, a loopback address, when given)."""
    sock = socket.create_connection(address(url), timeout=timeout, source_address=(source, 0) if source else None)
    sock.settimeout(timeout)
    return sock


def head(method: str, path: str, headers: dict[str, str] | None = None) -> bytes:
    """A request line and headers, ending with the blank line."""
    lines = [f"{method} {path} HTTP/1.1", "Host: localhost", *(f"{k}: {v}" for k, v in (headers or {}).items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def read_answer(sock: socket.socket, timeout: float = 10.0) -> tuple[int, bytes]:
    """The status code and everything the server sent until it closed or went quiet (bounded)."""
    sock.settimeout(timeout)
    data = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            piece = sock.recv(65536)
        except TimeoutError:
            break
        except ConnectionResetError:
            break
        if not piece:
            break
        data += piece
        if b"\r\n\r\n" in data and _complete(data):
            break
    assert data.startswith(b"HTTP/1.1 "), f"no HTTP answer: {data[:200]!r}"
    return int(data.split(b" ", 2)[1]), data


def _complete(data: bytes) -> bool:
    head_part, _, body = data.partition(b"\r\n\r\n")
    for line in head_part.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return len(body) >= int(line.split(b":", 1)[1])
    return False


def seconds_until_closed(sock: socket.socket, bound: float) -> float:
    """How long until the server closes the connection; fails the test past ``bound`` seconds."""
    start = time.monotonic()
    sock.settimeout(bound)
    try:
        while sock.recv(65536):
            pass  # an answer (a 408) may come first; what matters is the close after it
    except TimeoutError:
        raise AssertionError(f"the server kept the connection open for more than {bound} s") from None
    except ConnectionResetError:
        pass
    return time.monotonic() - start


def stream_chunked(url: str, path: str, total: int, headers: dict[str, str] | None = None) -> tuple[int | None, int]:
    """POST a chunked body of ``total`` bytes; the answer's status and how many bytes went out before it.

    The status is None when the server cut the connection (a reset can overtake its answer).
    """
    sock = connect(url)
    sent = 0
    try:
        sock.sendall(head("POST", path, {"Transfer-Encoding": "chunked", **(headers or {})}))
        while sent < total:
            if select.select([sock], [], [], 0)[0]:
                break  # the server answered before the body ended
            piece = CHUNK[: min(len(CHUNK), total - sent)]
            try:
                sock.sendall(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            except (BrokenPipeError, ConnectionResetError):
                return None, sent
            sent += len(piece)
        else:
            sock.sendall(b"0\r\n\r\n")
        try:
            status, _ = read_answer(sock)
        except (AssertionError, ConnectionResetError):
            return None, sent
        return status, sent
    finally:
        sock.close()


def rss_bytes() -> int:
    """This process's resident memory now (the servers under test run in it)."""
    with open("/proc/self/statm", encoding="ascii") as fp:
        pages = int(fp.read().split()[1])
    return pages * 4096
