"""A fault-injecting HTTP proxy on loopback, between a station and the hub, for the sync tests and bench.

Each HTTP request the station sends is read whole (head + ``Content-Length`` body), then the plan says
what to do with it (:class:`Fault`): pass it through, delay it, reset the connection before or in the
middle of it, forward it and lose the answer (the hub committed; the station never hears so), answer
5xx or 429 itself, or forward it and hand back a truncated or garbage answer.

The proxy keeps the station's connection alive (as the hub would) but opens a fresh connection to the
hub per request with ``Connection: close``, so reading the hub's whole answer is just reading to EOF.
Bytes are counted as the station sees them (request in, answer out) for the wire-size figures.

Threads, not asyncio: a latency fault may then simply wait in its connection's thread.
"""

from __future__ import annotations

import enum
import random
import socket
import socketserver
import struct
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

MAX_HEAD = 64 * 1024


class Fault(enum.Enum):
    """What the proxy does with one request."""

    PASS = "pass"  # noqa: S105 - a fault name, not a password
    """Forward it and relay the answer untouched."""
    REFUSE = "refuse"
    """Reset the connection before the request is read: nothing reaches the hub."""
    LATENCY = "latency"
    """Forward it after a delay shorter than the station's timeout."""
    TIMEOUT = "timeout"
    """Hold it longer than the station's timeout, then forward it anyway (the hub commits, nobody listens)."""
    RESET_MID_REQUEST = "reset_mid_request"
    """Read half the request, then reset: nothing complete reaches the hub."""
    LOST_RESPONSE = "lost_response"
    """Forward it, read the hub's whole answer (it committed), then reset instead of answering."""
    SERVER_ERROR = "server_error"
    """Answer 500 without forwarding."""
    BAD_GATEWAY = "bad_gateway"
    """Forward it (the hub commits), then answer 502 instead of the hub's answer."""
    RATE_LIMITED = "rate_limited"
    """Answer 429 with ``Retry-After`` without forwarding."""
    TRUNCATED = "truncated"
    """Forward it, then send the answer's head and only half its body before closing."""
    GARBAGE = "garbage"
    """Forward it, then answer 200 with a body that is not JSON at all."""
    GARBAGE_GZIP = "garbage_gzip"
    """Forward it, then answer 200 claiming ``Content-Encoding: gzip`` over bytes that are not gzip."""
    NOT_HTTP = "not_http"
    """Forward it, then answer with bytes that are not HTTP."""


FORWARDING = frozenset(
    {
        Fault.PASS,
        Fault.LATENCY,
        Fault.TIMEOUT,
        Fault.LOST_RESPONSE,
        Fault.BAD_GATEWAY,
        Fault.TRUNCATED,
        Fault.GARBAGE,
        Fault.GARBAGE_GZIP,
        Fault.NOT_HTTP,
    }
)
"""Faults after which the hub has seen (and may have committed) the request."""

ALL_FAULTS = tuple(f for f in Fault if f is not Fault.PASS)
"""Every fault, for a mixed plan."""

Plan = Callable[[int, str, str], Fault]
"""Decides the fault of the n-th request (0-based) given its method and path."""


def scripted(faults: Iterable[Fault], then: Fault = Fault.PASS) -> Plan:
    """A plan that applies ``faults`` to the first requests in order, then ``then`` to every later one."""
    script = list(faults)
    lock = threading.Lock()

    def plan(n: int, method: str, path: str) -> Fault:
        with lock:
            return script.pop(0) if script else then

    return plan


def only_for(path_part: str, faults: Iterable[Fault]) -> Plan:
    """A plan that applies ``faults`` in order to requests whose path contains ``path_part``; others pass."""
    inner = scripted(faults)

    def plan(n: int, method: str, path: str) -> Fault:
        return inner(n, method, path) if path_part in path else Fault.PASS

    return plan


def random_faults(seed: int, rate: float, faults: Sequence[Fault] = ALL_FAULTS) -> Plan:
    """A plan that faults each request with probability ``rate``, the fault drawn evenly from ``faults``."""
    rng = random.Random(seed)
    lock = threading.Lock()

    def plan(n: int, method: str, path: str) -> Fault:
        with lock:
            return rng.choice(faults) if rng.random() < rate else Fault.PASS

    return plan


@dataclass(frozen=True)
class Exchange:
    """One request as the proxy handled it."""

    n: int
    method: str
    path: str
    fault: Fault
    status: int | None
    """The hub's status code when the request was forwarded and answered, else None."""


@dataclass(frozen=True)
class _Request:
    method: str
    path: str
    head: bytes
    body: bytes

    @property
    def raw(self) -> bytes:
        return self.head + self.body


class ClientGone(Exception):
    """The station closed its connection (between requests: normal)."""


class FaultProxy:
    """The proxy: ``start()``, then point the station at :attr:`url`; ``plan`` may be swapped at any time."""

    def __init__(
        self,
        upstream: tuple[str, int],
        plan: Plan | None = None,
        *,
        latency_s: float = 0.05,
        hold_s: float = 1.0,
        retry_after_s: int = 1,
    ) -> None:
        self.upstream = upstream
        self.plan: Plan = plan or (lambda n, method, path: Fault.PASS)
        self.latency_s = latency_s
        self.hold_s = hold_s
        """How long a TIMEOUT request is held before it is forwarded (set above the station's timeout)."""
        self.retry_after_s = retry_after_s
        self.bytes_in = 0
        """Bytes the station sent (requests, whole or in part)."""
        self.bytes_out = 0
        """Bytes the station received (answers, whole or in part)."""
        self.exchanges: list[Exchange] = []
        """Requests as handled, in the order they were finished."""
        self.decided: list[tuple[str, Fault]] = []
        """(path, fault) of every request, in the order they arrived."""
        self.sizes: list[tuple[str, int]] = []
        """(path, bytes both ways) of every request once handled."""
        self._local = threading.local()
        self._lock = threading.Lock()
        self._count = 0
        self._server: socketserver.ThreadingTCPServer | None = None
        self._thread: threading.Thread | None = None
        self._clients: set[socket.socket] = set()
        self._closing = threading.Event()
        self.port = 0

    # --- lifecycle ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """Where the station should send its requests."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Listen (on a free port the first time, on the same port after :meth:`stop_listening`)."""
        proxy = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                proxy._serve_client(self.request)

        class Server(socketserver.ThreadingTCPServer):
            allow_reuse_address = True
            daemon_threads = True
            block_on_close = False

        self._closing.clear()
        self._server = Server(("127.0.0.1", self.port), Handler)
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True, name="proxy")
        self._thread.start()

    def stop_listening(self) -> None:
        """Close the listening socket and every open connection: the station's connects are refused."""
        server, self._server = self._server, None
        if server is not None:
            self._closing.set()
            server.shutdown()
            server.server_close()
        with self._lock:
            clients = list(self._clients)
        for sock in clients:
            _reset(sock)
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def close(self) -> None:
        """Stop for good (safe twice)."""
        self.stop_listening()

    def __enter__(self) -> FaultProxy:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- figures -----------------------------------------------------------------------------

    def faults_of(self, path_part: str = "") -> list[Fault]:
        """The fault applied to each request so far (whose path contains ``path_part``)."""
        with self._lock:
            return [fault for path, fault in self.decided if path_part in path]

    def reset_counters(self) -> None:
        """Start counting bytes and exchanges afresh."""
        with self._lock:
            self.bytes_in = self.bytes_out = 0
            self.exchanges = []
            self.decided = []
            self.sizes = []

    # --- one station connection --------------------------------------------------------------

    def _serve_client(self, sock: socket.socket) -> None:
        with self._lock:
            self._clients.add(sock)
        reader = _Reader(sock)
        try:
            while not self._closing.is_set():
                try:
                    request = reader.request()
                except ClientGone:
                    return
                with self._lock:
                    n = self._count
                    self._count += 1
                fault = self.plan(n, request.method, request.path)
                with self._lock:
                    self.decided.append((request.path, fault))
                self._local.bytes = 0
                try:
                    keep = self._apply(sock, request, fault, n)
                finally:
                    with self._lock:
                        self.sizes.append((request.path, self._local.bytes))
                if not keep:
                    return
        except OSError:
            return
        finally:
            with self._lock:
                self._clients.discard(sock)
            sock.close()

    def _count_in(self, n: int) -> None:
        self._local.bytes += n
        with self._lock:
            self.bytes_in += n

    def _send(self, sock: socket.socket, data: bytes) -> None:
        self._local.bytes += len(data)
        with self._lock:
            self.bytes_out += len(data)
        sock.sendall(data)

    def _log(self, n: int, request: _Request, fault: Fault, status: int | None) -> None:
        with self._lock:
            self.exchanges.append(Exchange(n, request.method, request.path, fault, status))

    def _apply(self, sock: socket.socket, request: _Request, fault: Fault, n: int) -> bool:
        """Handle one request; False when the connection is finished."""
        if fault is Fault.REFUSE:
            self._log(n, request, fault, None)
            _reset(sock)
            return False
        if fault is Fault.RESET_MID_REQUEST:
            self._count_in(len(request.head) + len(request.body) // 2)
            self._log(n, request, fault, None)
            _reset(sock)
            return False
        self._count_in(len(request.raw))
        if fault is Fault.SERVER_ERROR:
            self._log(n, request, fault, None)
            self._send(sock, _answer(500, b'{"error":"injected failure"}'))
            return True
        if fault is Fault.RATE_LIMITED:
            self._log(n, request, fault, None)
            self._send(sock, _answer(429, b'{"error":"slow down"}', {"Retry-After": str(self.retry_after_s)}))
            return True
        if fault is Fault.LATENCY:
            self._closing.wait(self.latency_s)
        elif fault is Fault.TIMEOUT:
            self._closing.wait(self.hold_s)
        head, body = self._forward(request)
        self._log(n, request, fault, _status(head))
        if fault in (Fault.PASS, Fault.LATENCY):
            self._send(sock, head + body)
            return True
        if fault is Fault.TIMEOUT:
            return False  # the station gave up long ago
        if fault is Fault.LOST_RESPONSE:
            _reset(sock)
            return False
        if fault is Fault.BAD_GATEWAY:
            self._send(sock, _answer(502, b"<html>bad gateway</html>", {"Content-Type": "text/html"}))
            return True
        if fault is Fault.TRUNCATED:
            self._send(sock, head + body[: len(body) // 2])
            return False
        if fault is Fault.GARBAGE:
            self._send(sock, _answer(200, b"\x8b<html>not what you wanted{{", {"Content-Type": "application/json"}))
            return True
        if fault is Fault.GARBAGE_GZIP:
            headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
            self._send(sock, _answer(200, b"\x1f\x8bthis is not gzip at all", headers))
            return True
        # NOT_HTTP
        self._send(sock, b"\x00\x01SSH-2.0-nonsense\r\n\r\n")
        return False

    def _forward(self, request: _Request) -> tuple[bytes, bytes]:
        """Send the request to the hub on a fresh connection; the answer's head (keep-alive) and body."""
        with socket.create_connection(self.upstream, timeout=60) as up:
            up.sendall(_with_close(request.head) + request.body)
            chunks = []
            while True:
                chunk = up.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
        data = b"".join(chunks)
        head, sep, body = data.partition(b"\r\n\r\n")
        lines = [line for line in head.split(b"\r\n") if not line.lower().startswith(b"connection:")]
        return b"\r\n".join(lines) + sep, body


class _Reader:
    """Reads whole HTTP requests from one station connection."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""

    def _more(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ClientGone
        self.buffer += chunk

    def request(self) -> _Request:
        while b"\r\n\r\n" not in self.buffer:
            if len(self.buffer) > MAX_HEAD:
                raise ClientGone
            self._more()
        head, _, rest = self.buffer.partition(b"\r\n\r\n")
        head += b"\r\n\r\n"
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        self.buffer = rest
        while len(self.buffer) < length:
            self._more()
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        method, path, *_ = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ")
        return _Request(method, path, head, body)


def _with_close(head: bytes) -> bytes:
    lines = [line for line in head[:-4].split(b"\r\n") if not line.lower().startswith(b"connection:")]
    return b"\r\n".join([*lines, b"Connection: close"]) + b"\r\n\r\n"


def _status(head: bytes) -> int | None:
    try:
        return int(head.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return None


def _answer(status: int, body: bytes, headers: dict[str, str] | None = None) -> bytes:
    reason = {200: "OK", 429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway"}[status]
    lines = [f"HTTP/1.1 {status} {reason}", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in (headers or {"Content-Type": "application/json"}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def _reset(sock: socket.socket) -> None:
    """Close with an RST (SO_LINGER 0), as a crashed peer or a middlebox does."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
    except OSError:
        pass
