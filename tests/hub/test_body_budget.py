"""Large bodies share one memory budget: the limiter holds however many uploads come at once."""

from __future__ import annotations

import asyncio
import gzip
import threading
from collections.abc import Awaitable, Callable
from typing import Any

import requests

from hub.body_budget import FREE_BYTES, GZIP_MAX_RATIO, BodyBudget, BodyBudgetMiddleware, estimated_cost
from hub.server import HubServer
from hub.storage import Storage
from kiosk.sync.protocol import MAX_BODY_BYTES
from tests.hub.support import batch_body, records

MiB = 1024 * 1024


def test_the_estimate_is_the_most_a_body_can_unpack_to_within_the_cap() -> None:
    assert estimated_cost(1000, False, MAX_BODY_BYTES) == 1000
    assert estimated_cost(1000, True, MAX_BODY_BYTES) == 1000 * GZIP_MAX_RATIO
    assert estimated_cost(100_000, True, MAX_BODY_BYTES) == MAX_BODY_BYTES
    assert estimated_cost(None, False, MAX_BODY_BYTES) == MAX_BODY_BYTES


def request_scope(length: int) -> dict[str, Any]:
    headers = [(b"content-length", str(length).encode()), (b"content-encoding", b"gzip")]
    return {"type": "http", "method": "POST", "path": "/v1/stations/st-a/events", "headers": headers}


class Blocked:
    """An inner app that holds every request until ``go`` is set, counting those inside."""

    def __init__(self) -> None:
        self.go = asyncio.Event()
        self.inside = 0
        self.most_inside = 0

    async def __call__(self, scope: Any, receive: Any, send: Callable[[Any], Awaitable[None]]) -> None:
        self.inside += 1
        self.most_inside = max(self.most_inside, self.inside)
        await self.go.wait()
        self.inside -= 1
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


async def call(app: Any, scope: dict[str, Any]) -> int:
    sent: list[Any] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return int(sent[0]["status"])


async def until(condition: Callable[[], bool]) -> None:
    for _ in range(1000):  # bounded: the loop gives each waiting task its turn
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("the condition did not come true")


def test_five_large_uploads_at_once_go_in_two_at_a_time() -> None:
    async def scenario() -> None:
        inner = Blocked()
        budget = BodyBudget(16 * MiB)
        app = BodyBudgetMiddleware(inner, budget, max_bytes=8 * MiB)
        tasks = [asyncio.create_task(call(app, request_scope(1 * MiB))) for _ in range(5)]
        await until(lambda: inner.inside == 2 and budget.waiting == 3)
        assert budget.used == 16 * MiB
        inner.go.set()
        assert await asyncio.gather(*tasks) == [200] * 5
        assert inner.most_inside == 2
        assert (budget.peak, budget.used, budget.granted) == (16 * MiB, 0, 5)

    asyncio.run(scenario())


def test_small_bodies_pass_while_the_budget_is_taken() -> None:
    async def scenario() -> None:
        inner = Blocked()
        budget = BodyBudget(8 * MiB)
        app = BodyBudgetMiddleware(inner, budget, max_bytes=8 * MiB)
        big = asyncio.create_task(call(app, request_scope(1 * MiB)))
        await until(lambda: budget.used == 8 * MiB)
        small = {**request_scope(0), "headers": [(b"content-length", str(FREE_BYTES // 2).encode())]}
        heartbeat = asyncio.create_task(call(app, small))
        await until(lambda: inner.inside == 2)  # the small one is in beside the big one
        inner.go.set()
        assert await asyncio.gather(big, heartbeat) == [200, 200]

    asyncio.run(scenario())


def test_an_upload_that_waits_too_long_is_told_to_come_back() -> None:
    async def scenario() -> None:
        inner = Blocked()
        budget = BodyBudget(8 * MiB)
        app = BodyBudgetMiddleware(inner, budget, max_bytes=8 * MiB, wait_s=0.01)
        first = asyncio.create_task(call(app, request_scope(1 * MiB)))
        await until(lambda: inner.inside == 1)
        assert await call(app, request_scope(1 * MiB)) == 503
        assert budget.waiting == 0
        inner.go.set()
        assert await first == 200
        assert budget.used == 0

    asyncio.run(scenario())


def test_parallel_near_cap_uploads_to_a_real_hub_stay_within_the_budget(storage: Storage) -> None:
    stations = [f"st-{i}" for i in range(6)]
    tokens = {sid: storage.add_station(sid, name=sid, name_en=sid) for sid in stations}
    bodies = {}
    for sid in stations:
        events = records(sid, range(1, 2001), type_="bench.tick", payload={"note": sid * 400})
        bodies[sid] = gzip.compress(batch_body(sid, events))
    budget = BodyBudget(2 * MAX_BODY_BYTES)
    answers: dict[str, int] = {}
    with HubServer(storage, body_budget=budget) as hub:
        start = threading.Barrier(len(stations))

        def upload(sid: str) -> None:
            start.wait()
            headers = {
                "Authorization": f"Bearer {tokens[sid]}",
                "Content-Type": "application/json",
                "Content-Encoding": "gzip",
            }
            answer = requests.post(
                f"{hub.url}/v1/stations/{sid}/events", data=bodies[sid], headers=headers, timeout=120
            )
            answers[sid] = answer.status_code

        threads = [threading.Thread(target=upload, args=(sid,)) for sid in stations]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert answers == dict.fromkeys(stations, 200)
    assert storage.event_count() == 6 * 2000
    assert budget.granted == 6
    assert budget.peak <= budget.total
    assert budget.used == 0
