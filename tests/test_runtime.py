"""The runtime: start in order, close in reverse, optional failures become warnings."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from kiosk.app.runtime import Runtime
from kiosk.core.errors import ComponentError


class Probe:
    """A component that records what happens to it."""

    def __init__(self, name: str, journal: list[str], *, optional: bool = False, fail: bool = False) -> None:
        self.name = name
        self.optional = optional
        self.fail = fail
        self.journal = journal
        self.closes = 0
        self.warnings: list[str] = []

    async def start(self) -> None:
        if self.fail:
            raise OSError(f"{self.name} hardware not found")
        self.journal.append(f"start {self.name}")

    async def close(self) -> None:
        self.closes += 1
        self.journal.append(f"close {self.name}")

    def get_status(self) -> dict[str, Any]:
        return {"ok": True, "warnings": list(self.warnings)}


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_components_start_in_order_and_close_in_reverse() -> None:
    journal: list[str] = []
    runtime = Runtime([Probe("store", journal), Probe("cabinet", journal), Probe("api", journal)])
    run(runtime.start())
    run(runtime.close())
    assert journal == ["start store", "start cabinet", "start api", "close api", "close cabinet", "close store"]


def test_closing_twice_closes_each_component_once() -> None:
    journal: list[str] = []
    probe = Probe("store", journal)
    runtime = Runtime([probe])
    run(runtime.start())
    run(runtime.close())
    run(runtime.close())
    assert probe.closes == 1


def test_an_optional_component_that_fails_is_a_warning_and_the_rest_runs() -> None:
    journal: list[str] = []
    runtime = Runtime(
        [Probe("store", journal), Probe("scanner", journal, optional=True, fail=True), Probe("api", journal)]
    )
    run(runtime.start())
    assert journal == ["start store", "close scanner", "start api"]  # closed to undo a partial start
    assert runtime.warnings() == ["scanner: not running — scanner hardware not found"]
    status = runtime.get_status()
    assert status["components"]["scanner"]["state"] == "failed"
    assert status["components"]["api"]["state"] == "running"


def test_a_required_component_that_fails_stops_those_already_started() -> None:
    journal: list[str] = []
    runtime = Runtime([Probe("store", journal), Probe("api", journal, fail=True), Probe("ui", journal)])
    with pytest.raises(ComponentError, match="api failed to start: api hardware not found"):
        run(runtime.start())
    assert journal == ["start store", "close store"]


def test_component_warnings_are_gathered_with_their_name() -> None:
    journal: list[str] = []
    cabinet = Probe("cabinet", journal)
    cabinet.warnings = ["bay 3: door switch flapping"]
    runtime = Runtime([cabinet])
    run(runtime.start())
    assert runtime.warnings() == ["cabinet: bay 3: door switch flapping"]


def test_status_is_a_fresh_json_safe_dict_each_time() -> None:
    journal: list[str] = []
    runtime = Runtime([Probe("store", journal)])
    run(runtime.start())
    first = runtime.get_status()
    first["components"]["store"]["ok"] = False
    assert runtime.get_status()["components"]["store"]["ok"] is True


def test_names_must_be_unique() -> None:
    with pytest.raises(ValueError, match="unique"):
        Runtime([Probe("a", []), Probe("a", [])])
