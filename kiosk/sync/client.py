"""Talking to the city hub over HTTPS with ``requests``: one session, a timeout on every call.

Every failure is one of three kinds, because each calls for a different reaction:

- :class:`HubUnavailable` — no answer, a reset connection, a 5xx, or an answer that is not what the
  protocol says (truncated, garbage): try again later with backoff.
- :class:`HubBusy` — 429/503 with ``Retry-After``: wait at least that long.
- :class:`HubRefused` — any other 4xx (a bad token, an unknown station): retrying will not help; show it
  to staff and retry only slowly.
"""

from __future__ import annotations

import gzip
import logging
from typing import TypeVar

import requests
from pydantic import BaseModel, ValidationError

from kiosk.core.errors import KioskError
from kiosk.sync.backoff import parse_retry_after
from kiosk.sync.protocol import (
    MAX_BUNDLE_BYTES,
    AlarmAck,
    BatchAck,
    Bundle,
    EventBatch,
    Heartbeat,
    HeartbeatAck,
    SafetyAlarm,
    SpendAnswer,
    SpendRequest,
)

log = logging.getLogger(__name__)

A = TypeVar("A", bound=BaseModel)


class HubError(KioskError):
    """Talking to the hub failed."""


class HubUnavailable(HubError):
    """No usable answer: try again with backoff."""


class HubBusy(HubUnavailable):
    """The hub asked us to wait (429/503)."""

    def __init__(self, message: str, retry_after_s: float | None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class HubRefused(HubError):
    """The hub refused the request (4xx): fix the cause (token, station id) rather than retry."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class HubClient:
    """The three protocol calls for one station. Thread-safe enough for one caller at a time."""

    def __init__(self, base_url: str, station_id: str, token: str, *, timeout_s: float) -> None:
        self.base_url = base_url.rstrip("/")
        self.station_id = station_id
        self.timeout_s = timeout_s
        self.session = requests.Session()
        # Only the headers the hub needs: requests' defaults (Accept, Connection: keep-alive, which HTTP/1.1
        # implies) cost ~40 bytes a request, a tenth of an idle heartbeat's overhead.
        self.session.headers.clear()
        self.session.headers["User-Agent"] = "kiosk-core"
        self.session.headers["Accept-Encoding"] = "gzip"
        self.session.headers["Authorization"] = f"Bearer {token}"
        self.bytes_sent = 0

    def _url(self, what: str) -> str:
        return f"{self.base_url}/v1/stations/{self.station_id}/{what}"

    def _send(
        self,
        method: str,
        what: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        timeout_s: float | None = None,
        stream: bool = False,
    ) -> requests.Response:
        timeout = self.timeout_s if timeout_s is None else timeout_s
        try:
            response = self.session.request(
                method, self._url(what), data=body, headers=headers, timeout=timeout, stream=stream
            )
        except requests.RequestException as exc:
            raise HubUnavailable(f"the hub did not answer: {type(exc).__name__}: {exc}") from exc
        if body is not None:
            self.bytes_sent += len(body)
        status = response.status_code
        if status in (429, 503):
            raise HubBusy(f"the hub is busy (HTTP {status})", parse_retry_after(response.headers.get("Retry-After")))
        if status >= 500:
            raise HubUnavailable(f"the hub failed (HTTP {status})")
        if status >= 400 and status != 304:
            raise HubRefused(f"the hub refused the request (HTTP {status}): {_problem(response)}", status)
        return response

    @staticmethod
    def _parse(response: requests.Response, model: type[A]) -> A:
        try:
            return model.model_validate_json(response.content)
        except ValidationError as exc:
            raise HubUnavailable(
                f"the hub's answer is not a valid {model.__name__}: {exc.error_count()} problem(s)"
            ) from exc

    def post_events(self, batch: EventBatch) -> BatchAck:
        """Send a batch (gzip JSON); the hub's acknowledgement."""
        body = gzip.compress(batch.model_dump_json().encode(), compresslevel=6)
        headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
        return self._parse(self._send("POST", "events", body, headers), BatchAck)

    def get_bundle(self, etag: str | None) -> tuple[Bundle | None, str | None]:
        """The station's bundle, or (None, etag) when it has not changed since ``etag``."""
        headers = {"If-None-Match": etag} if etag else {}
        response = self._send("GET", "bundle", None, headers, stream=True)
        try:
            if response.status_code == 304:
                return None, etag
            body = _bounded_body(response, MAX_BUNDLE_BYTES)
        finally:
            response.close()
        try:
            bundle = Bundle.model_validate_json(body)
        except ValidationError as exc:
            raise HubUnavailable(f"the hub's answer is not a valid Bundle: {exc.error_count()} problem(s)") from exc
        return bundle, response.headers.get("ETag")

    def post_heartbeat(self, heartbeat: Heartbeat) -> HeartbeatAck:
        """Send the status snapshot."""
        body = gzip.compress(heartbeat.model_dump_json().encode())
        headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
        return self._parse(self._send("POST", "heartbeat", body, headers), HeartbeatAck)

    def post_spend(self, request: SpendRequest, timeout_s: float) -> SpendAnswer:
        """Ask the hub live to take points for an item; its answer (a refusal is an answer, not an error).

        ``timeout_s`` bounds this call alone (a rider is waiting at the screen), not the relay's calls.
        """
        body = request.model_dump_json().encode()
        headers = {"Content-Type": "application/json"}
        return self._parse(self._send("POST", "points/spend", body, headers, timeout_s), SpendAnswer)

    def post_alarm(self, alarm: SafetyAlarm) -> AlarmAck:
        """Send one safety alarm at once; the hub's acknowledgement."""
        body = alarm.model_dump_json().encode()
        return self._parse(self._send("POST", "alarms", body, {"Content-Type": "application/json"}), AlarmAck)

    def close(self) -> None:
        """Close the connection pool."""
        self.session.close()


def _bounded_body(response: requests.Response, limit: int) -> bytes:
    """The (decoded) body, read no further than ``limit`` bytes; HubUnavailable when it is longer."""
    declared = response.headers.get("Content-Length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise HubUnavailable(f"the hub's answer has {declared} bytes; a station reads at most {limit}")
    chunks: list[bytes] = []
    size = 0
    try:
        for chunk in response.iter_content(chunk_size=64 * 1024):
            size += len(chunk)
            if size > limit:
                raise HubUnavailable(f"the hub's answer is longer than the {limit} bytes a station reads")
            chunks.append(chunk)
    except requests.RequestException as exc:
        raise HubUnavailable(f"the hub's answer was cut short: {type(exc).__name__}: {exc}") from exc
    return b"".join(chunks)


def _problem(response: requests.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return response.text[:200].strip() or response.reason
    if isinstance(data, dict) and isinstance(data.get("error"), str):
        return str(data["error"])[:200]
    return str(data)[:200]
