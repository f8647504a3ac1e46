"""Server-Sent Events read as plain data: lines in, messages out (no I/O here, so it is tested alone)."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class SseMessage:
    """One dispatched SSE message."""

    event: str
    data: str
    id: str | None = None


def parse_sse(lines: Iterable[str]) -> Iterator[SseMessage]:
    """The messages in a stream of lines (without their line ends), as the SSE specification dispatches them.

    Comments (``: keepalive``) and ``retry:`` lines are skipped; a message is dispatched at a blank line
    and only when it has data; ``event`` defaults to ``message``.
    """
    event, last_id = "", None
    data: list[str] = []
    for line in lines:
        if not line:
            if data:
                yield SseMessage(event or "message", "\n".join(data), last_id)
            event, data = "", []
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            event = value
        elif name == "data":
            data.append(value)
        elif name == "id" and "\0" not in value:
            last_id = value


def backoff_delay(failures: int, *, base_s: float, cap_s: float, rand: Callable[[], float] = random.random) -> float:
    """Full-jitter backoff: a random wait up to ``base_s * 2**(failures-1)``, never above ``cap_s``.

    The jitter keeps a restarted core from being hit by every client at the same instant; ``failures``
    counts consecutive failures (1 for the first).
    """
    if failures <= 0:
        return 0.0
    ceiling = min(cap_s, base_s * 2.0 ** min(failures - 1, 30))
    return rand() * ceiling
