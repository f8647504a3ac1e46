"""The audit record of what staff did on the status page: one ``staff.action`` event per action; alarms of guessing."""

from __future__ import annotations

import enum
from typing import ClassVar

from pydantic import Field

from kiosk.core.events import Event, event_type


class ActionKind(enum.Enum):
    """Everything staff can do on the status page (and signing in and out)."""

    SIGN_IN = "sign_in"
    SIGN_OUT = "sign_out"
    OPEN_BAY = "open_bay"
    OUT_OF_SERVICE = "out_of_service"
    BACK_IN_SERVICE = "back_in_service"
    CLEAR_FAULT = "clear_fault"
    TEST_SCANNER = "test_scanner"
    SYNC_NOW = "sync_now"
    RESTART_UI = "restart_ui"
    SIMULATOR = "simulator"
    RESTOCK = "restock"
    CLEAR_SAFETY_ALARM = "clear_safety_alarm"


@event_type
class StaffAction(Event):
    """A staff member did something on the status page; recorded whether it worked or not."""

    TYPE: ClassVar[str] = "staff.action"
    user: str = Field(min_length=1, max_length=64)
    """The account name of who did it."""
    action: ActionKind
    """What was done."""
    bay: int | None = None
    """The bay it was done to, if any."""
    detail: str | None = Field(default=None, max_length=500)
    """A reason given, what the simulator was asked to do, or a goods bay's new stock."""
    ok: bool = True
    """Whether it worked."""
    error: str | None = Field(default=None, max_length=500)
    """Why it did not work, in plain words."""


@event_type
class SignInAlarm(Event):
    """Many wrong passwords for one account on the status page: someone may be guessing it.

    Raised once per alarm window (see :class:`kiosk.core.guessing.GuessPolicy`); the guessing clients
    are slowed down and locked out, the account is not.
    """

    TYPE: ClassVar[str] = "staff.sign_in_alarm"
    account: str = Field(max_length=64)
    """The account name tried (it may not exist)."""
    clients: list[str] = Field(max_length=5)
    """The addresses (IPv6: the /64) the wrong passwords came from, newest last."""
    failures: int = Field(ge=1)
    """Wrong passwords counted in the window."""
