"""Starting and stopping components in order, and what their status adds up to.

Components start in the order given (dependencies first) and close in reverse. A required component
that fails to start stops the ones already started and the station with them; an optional one is
listed in ``warnings`` and the rest runs (a station without its scanner can still be opened by staff).
"""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Sequence
from typing import Any

from kiosk.core.component import Component
from kiosk.core.errors import ComponentError

log = logging.getLogger(__name__)


class ComponentState(enum.Enum):
    """Where a component is in its life."""

    NEW = "new"
    RUNNING = "running"
    FAILED = "failed"
    CLOSED = "closed"


class Runtime:
    """Owns the components of one kiosk-core process."""

    def __init__(self, components: Sequence[Component]) -> None:
        names = [c.name for c in components]
        if len(set(names)) != len(names):
            raise ValueError(f"component names must be unique, got {names}")
        self._components = list(components)
        self._state: dict[str, ComponentState] = dict.fromkeys(names, ComponentState.NEW)
        self._errors: dict[str, str] = {}
        self._started_at: float | None = None

    def component(self, name: str) -> Component:
        """The component called ``name`` (KeyError if there is none)."""
        for comp in self._components:
            if comp.name == name:
                return comp
        raise KeyError(name)

    async def start(self) -> None:
        """Start every component in order; raise ``ComponentError`` if a required one fails."""
        self._started_at = time.monotonic()
        for comp in self._components:
            try:
                await comp.start()
            except Exception as exc:  # any failure of a component is reported the same way
                reason = str(exc) or type(exc).__name__
                self._state[comp.name] = ComponentState.FAILED
                self._errors[comp.name] = reason
                if comp.optional:
                    log.warning("optional component %s failed to start, carrying on without it: %s", comp.name, reason)
                    await self._close_one(comp)
                    continue
                log.error("component %s failed to start: %s", comp.name, reason)
                await self.close()
                raise ComponentError(f"{comp.name} failed to start: {reason}") from exc
            self._state[comp.name] = ComponentState.RUNNING
            log.info("started %s", comp.name)

    async def _close_one(self, comp: Component) -> None:
        try:
            await comp.close()
        except Exception:  # closing must go on for the others whatever one does
            log.exception("closing %s failed", comp.name)

    async def close(self) -> None:
        """Close every component that was started, in reverse order. Safe to call twice."""
        for comp in reversed(self._components):
            if self._state[comp.name] is ComponentState.RUNNING:
                await self._close_one(comp)
                self._state[comp.name] = ComponentState.CLOSED
                log.info("closed %s", comp.name)

    def failed(self) -> dict[str, str]:
        """Components that failed, with the reason."""
        return dict(self._errors)

    def warnings(self) -> list[str]:
        """Plain-language warnings: failed optional components, then each running component's own."""
        out = [f"{name}: not running — {reason}" for name, reason in self._errors.items()]
        for comp in self._components:
            if self._state[comp.name] is not ComponentState.RUNNING:
                continue
            try:
                own = comp.get_status().get("warnings", [])
            except Exception as exc:  # a broken status must not break the status page
                own = [f"status unavailable: {exc}"]
            out.extend(f"{comp.name}: {w}" for w in own)
        return out

    def uptime_s(self) -> float:
        """Seconds since start (0 before)."""
        return 0.0 if self._started_at is None else time.monotonic() - self._started_at

    def get_status(self) -> dict[str, Any]:
        """Every component's state and status, and the warnings; a fresh JSON-safe dict."""
        components: dict[str, Any] = {}
        for comp in self._components:
            state = self._state[comp.name]
            entry: dict[str, Any] = {"state": state.value, "optional": comp.optional}
            if state is ComponentState.RUNNING:
                try:
                    entry.update(comp.get_status())
                except Exception as exc:
                    entry["error"] = f"status unavailable: {exc}"
            if comp.name in self._errors:
                entry["error"] = self._errors[comp.name]
            components[comp.name] = entry
        return {"components": components, "warnings": self.warnings()}
