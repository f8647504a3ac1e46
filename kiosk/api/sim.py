"""The simulator's controls on the local API (only when kiosk-core runs a simulated cabinet).

They act on the simulated *world* — a rider scanning a code, shutting a door, putting a battery in —
never on the station's own logic, which sees the results through its production drivers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal, Protocol

from fastapi import APIRouter, HTTPException, Path, status
from pydantic import BaseModel, ConfigDict, Field

from kiosk.devices.sim.cabinet import Fault


class SimControls(Protocol):
    """What the simulated cabinet offers (``kiosk.devices.sim.cabinet.SimCabinet``)."""

    def scan(self, text: str) -> None:
        """The scanner module reads ``text``."""
        ...

    def close_door(self, bay: int) -> None:
        """A rider shuts a bay door."""
        ...

    def insert_battery(self, bay: int, battery_id: str, soc_pct: float = 20.0, temperature_c: float = 25.0) -> None:
        """A rider puts a battery into an open bay."""
        ...

    def take_battery(self, bay: int) -> str | None:
        """A rider takes the battery out of an open bay."""
        ...

    def open_entry_door(self) -> None:
        """Someone pushes the entry door open."""
        ...

    def close_entry_door(self) -> None:
        """The entry door swings shut."""
        ...

    def inject(self, fault: Fault, bay: int | None = None, on: bool = True) -> None:
        """Turn a fault on or off."""
        ...

    def get_status(self) -> dict[str, Any]:
        """The simulated world as it really is."""
        ...


class ScanBody(BaseModel):
    """A code the simulated rider shows to the scanner."""

    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=4096)


class BatteryBody(BaseModel):
    """A battery the simulated rider puts into a bay."""

    model_config = ConfigDict(extra="forbid")
    battery_id: str = Field(min_length=1, max_length=16)
    soc_pct: float = Field(default=20.0, ge=0, le=100)
    temperature_c: float = Field(default=25.0, ge=-40, le=120)


class FaultBody(BaseModel):
    """A fault to turn on or off."""

    model_config = ConfigDict(extra="forbid")
    fault: Fault
    bay: int | None = Field(default=None, ge=1, le=99)
    on: bool = True


class CodeBody(BaseModel):
    """A rider code to issue with the simulator's signing key (standing in for the hub's)."""

    model_config = ConfigDict(extra="forbid")
    rider_id: str = Field(min_length=1, max_length=20, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    scope: Literal["swap", "entry", "both"] = "swap"
    ttl_s: int = Field(default=300, ge=1, le=86400)
    """Whole seconds: codes carry their times to the second."""
    scan: bool = False
    """Also show it to the scanner at once."""


BayNumber = Annotated[int, Path(ge=1, le=99)]
CodeIssuer = Callable[[str, str, float], str]


def sim_router(sim: SimControls, issue_code: CodeIssuer | None = None) -> APIRouter:
    """Routes under ``/api/sim``; mount them behind the API's authentication."""
    router = APIRouter(prefix="/api/sim")

    if issue_code is not None:
        issuer = issue_code

        @router.post("/codes")
        def code(body: CodeBody) -> dict[str, str]:
            text = issuer(body.rider_id, body.scope, body.ttl_s)
            if body.scan:
                sim.scan(text)
            return {"text": text}

    def act(fn: Any, *args: Any) -> dict[str, Any]:
        try:
            fn(*args)
        except (ValueError, KeyError) as exc:  # e.g. taking a battery through a closed door
            raise HTTPException(status.HTTP_409_CONFLICT, detail=str(exc).strip("'\"")) from exc
        return sim.get_status()

    @router.get("")
    def world() -> dict[str, Any]:
        return sim.get_status()

    @router.post("/scan")
    def scan(body: ScanBody) -> dict[str, Any]:
        return act(sim.scan, body.text)

    @router.post("/bays/{bay}/close-door")
    def close_door(bay: BayNumber) -> dict[str, Any]:
        return act(sim.close_door, bay)

    @router.post("/bays/{bay}/insert")
    def insert(bay: BayNumber, body: BatteryBody) -> dict[str, Any]:
        return act(sim.insert_battery, bay, body.battery_id, body.soc_pct, body.temperature_c)

    @router.post("/bays/{bay}/take")
    def take(bay: BayNumber) -> dict[str, Any]:
        return act(sim.take_battery, bay)

    @router.post("/entry/open")
    def entry_open() -> dict[str, Any]:
        return act(sim.open_entry_door)

    @router.post("/entry/close")
    def entry_close() -> dict[str, Any]:
        return act(sim.close_entry_door)

    @router.post("/faults")
    def fault(body: FaultBody) -> dict[str, Any]:
        return act(sim.inject, body.fault, body.bay, body.on)

    return router
