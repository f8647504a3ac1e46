"""The local API's rider services for the touchscreen: content, the identified rider, points, bookings, feedback.

The paths, models and status codes are those listed in :mod:`kiosk.api.rider_models`. The router is built
from :class:`RiderApi`, plain callables the composition root hands in (``kiosk.flows.rider_desk.RiderDesk``),
so this layer never imports the app. Errors are ``{"error": "plain words"}``: 404 for what does not exist,
409 for what cannot be done now (nobody identified, a swap already running), 422 for a malformed body.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, TypeVar

from fastapi import APIRouter, HTTPException, Path, Request, status
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ValidationError

from kiosk.api.rider_models import (
    BookingAnswer,
    BookingRequest,
    FeedbackAnswer,
    FeedbackRequest,
    IdentifyAnswer,
    IdentifyRequest,
    RedeemAnswer,
    RedeemRequest,
    RiderView,
    ServiceViewRequest,
    StationContent,
)
from kiosk.core.errors import KioskError

M = TypeVar("M", bound=BaseModel)
UNPROCESSABLE = 422
"""A body that does not fit its model (Starlette renamed its constant; the number is what clients see)."""


class RiderConflict(KioskError):
    """What the rider asked cannot be done now (nobody identified, a swap already running...): 409."""


class NoSwapNow(RiderConflict):
    """No swap could be finished here now (no charged battery, no free bay): 409 with the reason, and nothing
    of the rider's is used (their code still starts a swap once one can be finished)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        """``no_charged_battery`` or ``no_empty_bay`` (the swap machine's start refusals)."""


class RiderNotFound(KioskError, LookupError):
    """The service, slot or item named does not exist here: 404."""


@dataclass
class RiderApi:
    """What the rider endpoints need from core; each raises :class:`RiderConflict` / :class:`RiderNotFound`."""

    content: Callable[[], StationContent]
    """What the last bundle offers here."""
    service_viewed: Callable[[str, str], None]
    """Record that the service (id) was read in the language ('zh'/'en')."""
    identify: Callable[[str], IdentifyAnswer]
    """The next scan identifies a rider, for the purpose given."""
    rider: Callable[[], RiderView | None]
    """The identified rider (None: nobody); touches the session."""
    end: Callable[[], None]
    """The rider is done."""
    swap: Callable[[], None]
    """Start a swap for the identified rider."""
    redeem: Callable[[str], Awaitable[RedeemAnswer]]
    """Spend points on a catalogue item (id)."""
    book: Callable[[str, str], BookingAnswer]
    """Ask for a slot (service id, slot id) of a bookable service."""
    feedback: Callable[[FeedbackRequest], FeedbackAnswer]
    """Record a rider's feedback."""


def _problems(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors(include_url=False):
        where = ".".join(str(p) for p in error["loc"]) or "body"
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)


async def _body(request: Request, model: type[M], *, optional: bool = False) -> M:
    """The request's JSON body as ``model``; 422 in plain words when it does not fit."""
    raw = await request.body()
    if not raw.strip():
        if optional:
            return model()
        raise HTTPException(UNPROCESSABLE, detail="a JSON body is required")
    try:
        data = json.loads(raw)
    except ValueError:
        raise HTTPException(UNPROCESSABLE, detail="the body is not valid JSON") from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise HTTPException(UNPROCESSABLE, detail=_problems(exc)) from None


def _refused(exc: KioskError) -> HTTPException:
    code = status.HTTP_404_NOT_FOUND if isinstance(exc, RiderNotFound) else status.HTTP_409_CONFLICT
    return HTTPException(code, detail=str(exc))


ServiceId = Annotated[str, Path(min_length=1, max_length=64)]


def rider_router(api: RiderApi) -> APIRouter:
    """The rider endpoints (mounted under the UI token by :func:`kiosk.api.app.create_app`)."""
    router = APIRouter()
    # Every handler is ``async``: FastAPI runs plain ones in a worker thread, and the desk's state and the
    # database's one writer belong to the loop.

    @router.get("/api/content", response_model=StationContent)
    async def content() -> StationContent:
        return api.content()

    @router.post("/api/services/{service_id}/viewed", status_code=status.HTTP_202_ACCEPTED)
    async def viewed(service_id: ServiceId, request: Request) -> dict[str, bool]:
        body = await _body(request, ServiceViewRequest, optional=True)
        try:
            api.service_viewed(service_id, body.language)
        except (RiderConflict, RiderNotFound) as exc:
            raise _refused(exc) from None
        return {"recorded": True}

    @router.post("/api/rider/identify", status_code=status.HTTP_202_ACCEPTED, response_model=IdentifyAnswer)
    async def identify(request: Request) -> IdentifyAnswer:
        body = await _body(request, IdentifyRequest, optional=True)
        try:
            return api.identify(body.purpose)
        except (RiderConflict, RiderNotFound) as exc:
            raise _refused(exc) from None

    @router.get("/api/rider", response_model=RiderView)
    async def rider() -> RiderView:
        view = api.rider()
        if view is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, detail="nobody is identified at the screen now")
        return view

    @router.post("/api/rider/end", status_code=status.HTTP_204_NO_CONTENT)
    async def end() -> Response:
        api.end()
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    @router.post(
        "/api/rider/swap",
        status_code=status.HTTP_202_ACCEPTED,
        response_model=dict[str, bool],
        responses={409: {"description": "nobody identified, a swap under way, or nothing to swap (with a reason)"}},
    )
    async def swap() -> dict[str, bool] | JSONResponse:
        try:
            api.swap()
        except NoSwapNow as exc:  # the reason lets the screen say which (and stop offering a swap)
            return JSONResponse({"error": str(exc), "reason": exc.reason}, status_code=status.HTTP_409_CONFLICT)
        except (RiderConflict, RiderNotFound) as exc:
            raise _refused(exc) from None
        return {"requested": True}

    @router.post("/api/rider/redeem", response_model=RedeemAnswer)
    async def redeem(request: Request) -> RedeemAnswer:
        body = await _body(request, RedeemRequest)
        try:
            return await api.redeem(body.item_id)
        except (RiderConflict, RiderNotFound) as exc:
            raise _refused(exc) from None

    @router.post("/api/rider/bookings", status_code=status.HTTP_201_CREATED, response_model=BookingAnswer)
    async def book(request: Request) -> BookingAnswer:
        body = await _body(request, BookingRequest)
        try:
            return api.book(body.service_id, body.slot_id)
        except (RiderConflict, RiderNotFound) as exc:
            raise _refused(exc) from None

    @router.post("/api/feedback", status_code=status.HTTP_201_CREATED, response_model=FeedbackAnswer)
    async def feedback(request: Request) -> FeedbackAnswer:
        body = await _body(request, FeedbackRequest)
        try:
            return api.feedback(body)
        except (RiderConflict, RiderNotFound) as exc:
            raise _refused(exc) from None

    return router
