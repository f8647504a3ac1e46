"""kiosk-ui's link to kiosk-core: background threads read core's streams and hand every message over.

- the *screens* thread follows ``GET /api/screen/stream``; it alone decides whether core is reachable
  (``on_link``), reconnecting with full-jitter backoff and reporting once per change;
- the *events* thread follows ``GET /api/events/stream`` and only wakes the status thread, because a
  stored event (a door, a battery, a fault) is what changes the status;
- the *status* thread fetches ``GET /api/status`` at start, after events (at most every
  ``STATUS_MIN_GAP_S``) and every ``status_every_s`` otherwise.

Nothing here touches Kivy: every message goes through ``post`` (the app passes one that schedules the
call on Kivy's main thread), so no network call ever runs on the main thread and widgets are only
changed there. Commands (reopen a bay) and the rider services' calls (:mod:`kiosk.ui.calls`) run on a
one-thread executor for the same reason; their answers come back through ``post`` too.
"""

from __future__ import annotations

import functools
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Protocol, TypeVar

import requests
from pydantic import ValidationError

from kiosk.api.models import Status
from kiosk.api.screen import Screen
from kiosk.ui.calls import Answer, Call, Done, Problem, answer_of
from kiosk.ui.sse import backoff_delay, parse_sse

log = logging.getLogger(__name__)
T = TypeVar("T")

CONNECT_TIMEOUT_S = 3.0
READ_TIMEOUT_S = 40.0
"""Longer than core's 15 s keepalive: a silent stream this long means core is gone."""
STATUS_MIN_GAP_S = 0.5
REQUEST_TIMEOUT_S = 5.0

Post = Callable[[Callable[[], None]], None]
"""Run a callable on the UI's main thread (soon, in order)."""


class CoreListener(Protocol):
    """What the client tells the app (always through ``post``, so on the main thread)."""

    def on_screen(self, screen: Screen) -> None:
        """Core says what to show now (also the current screen at every (re)connect)."""

    def on_status(self, status: Status) -> None:
        """A fresh ``/api/status``."""

    def on_link(self, up: bool, detail: str) -> None:
        """Core became reachable (``up``) or not; ``detail`` says why, for the log and staff."""


class CoreClient:
    """Follows kiosk-core's local API from background threads."""

    def __init__(
        self,
        base_url: str,
        token_file: Path,
        listener: CoreListener,
        post: Post,
        *,
        backoff_base_s: float = 0.25,
        backoff_cap_s: float = 5.0,
        status_every_s: float = 10.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token_file = token_file
        self.listener = listener
        self.post = post
        self.backoff_base_s = backoff_base_s
        self.backoff_cap_s = backoff_cap_s
        self.status_every_s = status_every_s
        self._local = threading.local()
        self._stop = threading.Event()
        self._status_due = threading.Event()
        self._threads: list[threading.Thread] = []
        self._link_up: bool | None = None
        self._commands = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ui-command")

    @property
    def session(self) -> requests.Session:
        """This thread's HTTP session: the stream, status and command threads each keep their own connection
        pool, since ``requests.Session`` is not made to be shared between threads."""
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return session

    # --- lifecycle ------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the threads (they run until :meth:`close`)."""
        for name, target in (
            ("ui-screens", self._follow_screens),
            ("ui-events", self._follow_events),
            ("ui-status", self._poll_status),
        ):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def close(self, timeout: float = 0.2) -> None:
        """Stop: nothing more is delivered from now on; the threads end at their next line (safe twice).

        A stream thread blocked in a read is not interrupted (closing a response under a reading thread
        is not safe with urllib3); core's keepalive wakes it within 15 s and, being a daemon, it never
        holds the process. ``timeout`` bounds the wait for the threads that end at once.
        """
        self._stop.set()
        self._status_due.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._commands.shutdown(wait=False, cancel_futures=True)

    # --- commands ----------------------------------------------------------------------------------

    def request_reopen(self) -> None:
        """Ask core to open the return bay again (the rider pressed the button); never blocks the caller."""
        self._commands.submit(self._post_command, "/api/swap/reopen")

    def call(self, call: Call[T], done: Done[T] | None = None) -> None:
        """Run ``call`` on the command thread; ``done`` gets its answer on the main thread (never blocks)."""
        self._commands.submit(self._run_call, call, done)

    def _run_call(self, call: Call[T], done: Done[T] | None) -> None:
        try:
            response = self.session.request(
                call.method,
                self.base_url + call.path,
                json=call.json_body(),
                headers=self._headers(),
                timeout=(CONNECT_TIMEOUT_S, call.timeout_s),
            )
            answer: Answer[T] = answer_of(call, response.status_code, response.text)
        except (requests.RequestException, OSError) as exc:
            answer = Answer(problem=Problem.UNREACHABLE, detail=f"{call.key}: {exc}")
        if answer.problem is not None:
            log.warning("core did not do %s: %s", call.key, answer.detail)
        if done is not None:
            self._deliver(functools.partial(done, answer))

    def _post_command(self, path: str) -> None:
        try:
            answer = self.session.post(self.base_url + path, headers=self._headers(), timeout=REQUEST_TIMEOUT_S)
            answer.raise_for_status()
        except (requests.RequestException, OSError) as exc:
            log.warning("core did not take %s: %s", path, exc)

    # --- helpers -------------------------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        token = self.token_file.read_text(encoding="utf-8").strip()
        return {"Authorization": f"Bearer {token}", "Accept": "text/event-stream, application/json"}

    def _deliver(self, fn: Callable[[], None]) -> None:
        """Hand ``fn`` to the main thread, unless the client was closed by the time it runs there."""
        self.post(lambda: None if self._stop.is_set() else fn())

    def _set_link(self, up: bool, detail: str) -> None:
        if self._link_up is up:
            return
        self._link_up = up
        if up:
            log.info("connected to kiosk-core at %s", self.base_url)
        else:
            log.warning("kiosk-core unreachable at %s: %s", self.base_url, detail)
        self._deliver(lambda: self.listener.on_link(up, detail))

    def _stream(self, path: str) -> Iterator[str]:
        """Lines of one SSE response; raises on connection trouble, ends when core closes it."""
        response = self.session.get(
            self.base_url + path, headers=self._headers(), stream=True, timeout=(CONNECT_TIMEOUT_S, READ_TIMEOUT_S)
        )
        try:
            response.raise_for_status()
            yield ""  # connected: lets the caller report the link before the first message
            for line in response.iter_lines(decode_unicode=True):
                if self._stop.is_set():
                    return
                yield line
        finally:
            response.close()

    def _follow(self, path: str, on_message: Callable[[str, str], None], owns_link: bool) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                lines = self._stream(path)
                next(lines)
                if owns_link:
                    self._set_link(True, "connected")
                failures = 0
                for message in parse_sse(lines):
                    on_message(message.event, message.data)
                detail = "core closed the stream"
            except Exception as exc:  # the stream broke in any way (closed under us at close()): reconnect
                if self._stop.is_set():
                    return
                detail = f"{type(exc).__name__}: {exc}"
                if not isinstance(exc, requests.RequestException | OSError | StopIteration):
                    log.exception("reading %s failed", path)
            if self._stop.is_set():
                return
            failures += 1
            if owns_link:
                self._set_link(False, detail)
            self._stop.wait(backoff_delay(failures, base_s=self.backoff_base_s, cap_s=self.backoff_cap_s))

    # --- the threads ---------------------------------------------------------------------------------

    def _follow_screens(self) -> None:
        def on_message(event: str, data: str) -> None:
            if event != "screen":
                return
            try:
                screen = Screen.model_validate_json(data)
            except ValidationError as exc:
                log.warning("core sent a screen this UI cannot read: %s", exc)
                return
            self._deliver(lambda: self.listener.on_screen(screen))
            self._status_due.set()

        self._follow("/api/screen/stream", on_message, owns_link=True)

    def _follow_events(self) -> None:
        def on_message(event: str, data: str) -> None:
            self._status_due.set()

        self._follow("/api/events/stream", on_message, owns_link=False)

    def _poll_status(self) -> None:
        while not self._stop.is_set():
            self._status_due.wait(self.status_every_s)
            self._status_due.clear()
            if self._stop.is_set():
                return
            try:
                url = self.base_url + "/api/status"
                answer = self.session.get(url, headers=self._headers(), timeout=REQUEST_TIMEOUT_S)
                answer.raise_for_status()
                status = Status.model_validate(answer.json())
            except (requests.RequestException, OSError, ValidationError, json.JSONDecodeError) as exc:
                log.debug("status not fetched: %s", exc)
            else:
                self._deliver(functools.partial(self.listener.on_status, status))
            self._stop.wait(STATUS_MIN_GAP_S)
