"""The rider services' requests to kiosk-core's local API, as data: what to send, what comes back.

A :class:`Call` names the method, the path, the body and the model of the answer; the core client runs it
on its command thread and hands an :class:`Answer` to the main thread. Deciding what an HTTP status
means (:func:`answer_of`) is a pure function, so the screens only ever see a value or a :class:`Problem`.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ValidationError

from kiosk.api.rider_models import (
    BookingAnswer,
    BookingRequest,
    FeedbackAnswer,
    FeedbackRequest,
    IdentifyAnswer,
    IdentifyRequest,
    Language,
    Purpose,
    RedeemAnswer,
    RedeemRequest,
    RiderView,
    ServiceViewRequest,
    StationContent,
)

T = TypeVar("T")

DEFAULT_TIMEOUT_S = 5.0
REDEEM_TIMEOUT_S = 40.0
"""A spend may wait for the hub's live answer (``policy.spend_confirm_timeout_s``, at most 30 s) first."""


class Problem(enum.StrEnum):
    """Why a call brought no value (the screens say it in plain words)."""

    UNREACHABLE = "unreachable"
    """Core did not answer, or answered with a server error."""
    NOBODY = "nobody"
    """No rider is identified (404/409): the session ran out."""
    REFUSED = "refused"
    """Core refused the request (another 4xx)."""
    BAD_ANSWER = "bad_answer"
    """Core's answer could not be read."""
    NO_CHARGED_BATTERY = "no_charged_battery"
    """Core cannot start a swap: no battery here is charged (nothing of the rider's was used)."""
    NO_EMPTY_BAY = "no_empty_bay"
    """Core cannot start a swap: no free bay for the returned battery (nothing was used)."""


@dataclass(frozen=True)
class Answer(Generic[T]):
    """What a call brought back: ``value``, or a ``problem`` (and ``detail`` for the log)."""

    value: T | None = None
    problem: Problem | None = None
    detail: str = ""

    @property
    def ok(self) -> bool:
        """The call worked (``value`` may still be None for a call that answers nothing)."""
        return self.problem is None


Done = Callable[[Answer[T]], None]
"""Called on the main thread with a call's answer."""


@dataclass(frozen=True)
class Call(Generic[T]):
    """One request to core's local API."""

    method: Literal["GET", "POST"]
    path: str
    model: type[T] | None = None
    """The answer's model; None when the answer has no body worth reading."""
    body: BaseModel | None = None
    timeout_s: float = DEFAULT_TIMEOUT_S

    @property
    def key(self) -> str:
        """``"POST /api/rider/redeem"``: how logs and test doubles name it."""
        return f"{self.method} {self.path}"

    def json_body(self) -> dict[str, Any] | None:
        """The body as JSON-safe data."""
        return None if self.body is None else self.body.model_dump(mode="json")


def content() -> Call[StationContent]:
    """``GET /api/content``."""
    return Call("GET", "/api/content", StationContent)


def rider() -> Call[RiderView]:
    """``GET /api/rider``."""
    return Call("GET", "/api/rider", RiderView)


def identify(purpose: Purpose) -> Call[IdentifyAnswer]:
    """``POST /api/rider/identify``: the next scan identifies the rider."""
    return Call("POST", "/api/rider/identify", IdentifyAnswer, IdentifyRequest(purpose=purpose))


def end_rider() -> Call[None]:
    """``POST /api/rider/end``."""
    return Call("POST", "/api/rider/end")


def swap() -> Call[None]:
    """``POST /api/rider/swap``."""
    return Call("POST", "/api/rider/swap")


def redeem(item_id: str) -> Call[RedeemAnswer]:
    """``POST /api/rider/redeem``."""
    return Call("POST", "/api/rider/redeem", RedeemAnswer, RedeemRequest(item_id=item_id), REDEEM_TIMEOUT_S)


def book(service_id: str, slot_id: str) -> Call[BookingAnswer]:
    """``POST /api/rider/bookings``."""
    return Call("POST", "/api/rider/bookings", BookingAnswer, BookingRequest(service_id=service_id, slot_id=slot_id))


def feedback(request: FeedbackRequest) -> Call[FeedbackAnswer]:
    """``POST /api/feedback``."""
    return Call("POST", "/api/feedback", FeedbackAnswer, request)


def service_viewed(service_id: str, language: Language) -> Call[None]:
    """``POST /api/services/{id}/viewed``."""
    return Call("POST", f"/api/services/{service_id}/viewed", None, ServiceViewRequest(language=language))


def answer_of(call: Call[T], status: int, text: str) -> Answer[T]:
    """What core's HTTP answer means for ``call`` (a pure function of the status and the body)."""
    if status >= 500:
        return Answer(problem=Problem.UNREACHABLE, detail=f"{call.key}: {status}")
    if status == 409 and (reason := _reason(text)) in (Problem.NO_CHARGED_BATTERY, Problem.NO_EMPTY_BAY):
        return Answer(problem=Problem(reason), detail=f"{call.key}: {status} {text[:200]}")
    if status in (404, 409) and call.path.startswith("/api/rider"):
        return Answer(problem=Problem.NOBODY, detail=f"{call.key}: {status} {text[:200]}")
    if status >= 400:
        return Answer(problem=Problem.REFUSED, detail=f"{call.key}: {status} {text[:200]}")
    if call.model is None:
        return Answer()
    try:
        model: Any = call.model
        return Answer(value=model.model_validate(json.loads(text)))
    except (ValueError, ValidationError) as exc:
        return Answer(problem=Problem.BAD_ANSWER, detail=f"{call.key}: {exc}")


def _reason(text: str) -> str | None:
    """The ``reason`` of an error body (``{"error": ..., "reason": ...}``), None when it has none."""
    try:
        body = json.loads(text)
    except ValueError:
        return None
    reason = body.get("reason") if isinstance(body, dict) else None
    return reason if isinstance(reason, str) else None
