"""The rider services in words and shapes, as plain data (no Kivy): categories, points, bookings, feedback, the map.

Like :mod:`kiosk.ui.views`, every sentence is a catalog msgid marked with ``N_`` and filled after
translation; the screens only lay these out.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar
from zoneinfo import ZoneInfo

from kiosk.api.rider_models import CatalogueOffer, RedeemAnswer, RiderBooking, RiderView
from kiosk.core.content import BookingSlot, Location, NearbyStation, Service
from kiosk.ui.calls import Problem
from kiosk.ui.i18n import N_
from kiosk.ui.views import Msg, Nearby

T = TypeVar("T")

SERVICE_CATEGORIES: dict[str, str] = {
    "legal_aid": N_("Legal aid"),
    "social_insurance": N_("Social insurance"),
    "jobs": N_("Jobs"),
    "child_care": N_("Child care"),
    "health": N_("Health"),
}
"""The city's service categories in screen order; any other category is shown as "Other services"."""
OTHER_CATEGORY = N_("Other services")

FEEDBACK_TOPIC_LABELS: dict[str, str] = {
    "cleanliness": N_("Keep it cleaner"),
    "more_batteries": N_("More batteries"),
    "drinks_snacks": N_("Drinks and snacks"),
    "charging": N_("Phone charging"),
    "opening_hours": N_("Opening hours"),
    "safety": N_("Safety"),
    "staff_help": N_("Help from staff"),
    "other": N_("Something else"),
}
"""The eight suggestions of :data:`kiosk.core.rider_events.FEEDBACK_TOPICS`, in words."""

REDEEM_REFUSALS: dict[str, str] = {
    "unknown_item": N_("This item is not offered here any more."),
    "out_of_stock": N_("This item has run out here. Please choose another one."),
    "not_enough_points": N_("You do not have enough points for this item yet."),
    "balance_unknown": N_("The station does not know your points yet. Please try again when it is online."),
    "offline_cap": N_("The station is offline and you have spent all it may allow without the city. Try later."),
    "hub_refused": N_("The city did not allow this spend. Your points were not taken."),
    "bay_fault": N_("The locker did not open, so your points were not taken. Please try another item."),
}
"""Why a spend was refused (``RedeemAnswer.reason``), in plain words."""

BOOKING_STATUS: dict[str, str] = {
    "requested": N_("requested, waiting for the city"),
    "confirmed": N_("confirmed"),
    "declined": N_("declined"),
    "cancelled": N_("cancelled"),
}

IDENTIFY_PURPOSE: dict[str, str] = {
    "rider": N_("Scan the code in your rider app to continue."),
    "points": N_("Scan the code in your rider app to see your points."),
    "booking": N_("Scan the code in your rider app to ask for this time."),
    "feedback": N_("Scan the code in your rider app to sign your feedback."),
}
"""What the scan is for, on the "scan your code now" screen."""

COULD_NOT = N_("The station could not do that right now. Please try again.")
SESSION_OVER = N_("Your visit has ended. Scan your code again to continue.")


def topic_label(topic: str) -> str:
    """A feedback topic's msgid (a topic this UI does not know yet reads as "Something else")."""
    return FEEDBACK_TOPIC_LABELS.get(topic, FEEDBACK_TOPIC_LABELS["other"])


NO_SWAP_HERE = N_("No charged battery here now")
PROBLEM_TEXTS: dict[Problem, str] = {
    Problem.NOBODY: SESSION_OVER,
    Problem.NO_CHARGED_BATTERY: NO_SWAP_HERE,
    Problem.NO_EMPTY_BAY: N_("No free bay for your battery"),
}


def problem_text(problem: Problem | None) -> str:
    """The msgid telling the rider a call failed (plain words, never a code)."""
    return PROBLEM_TEXTS.get(problem, COULD_NOT) if problem is not None else COULD_NOT


class SwapOffer(enum.Enum):
    """What the rider's screen offers in the swap button's place."""

    SWAP = "swap"
    """A charged battery waits here (or the count is not known yet: core judges the request)."""
    NEARBY = "nearby"
    """None here: the button opens the nearby stations that have one."""
    NONE = "none"
    """None here, and no nearby station known to have one: no button, only the words."""


def swap_offer(charged: int | None, stations: Sequence[NearbyStation]) -> SwapOffer:
    """Whether to offer a swap, from ``charged``: the batteries core counts as swappable now (charged,
    healthy, in a working bay not in alarm: the same rule a swap's start is judged by)."""
    if charged is None or charged > 0:
        return SwapOffer.SWAP
    return SwapOffer.NEARBY if nearby_top(stations, 1) else SwapOffer.NONE


def no_swap_text(offer: SwapOffer, stations: Sequence[NearbyStation], english: bool) -> Msg | None:
    """Why no swap is offered, and where a charged battery is (None while a swap is offered)."""
    if offer is SwapOffer.SWAP:
        return None
    top = nearby_top(stations, 1)
    if offer is SwapOffer.NEARBY and top:
        return Msg(
            N_("No charged battery here now. The nearest station with one: {station}"),
            {"station": nearby_line(top[0], english)},
        )
    return Msg(N_("No charged battery here now. Please come back later."))


def category_label(category: str) -> str:
    """A service category's msgid."""
    return SERVICE_CATEGORIES.get(category, OTHER_CATEGORY)


def categories(services: Iterable[Service]) -> list[str]:
    """The categories that have services, known ones in screen order first, then the rest alphabetically."""
    present = {s.category for s in services}
    known = [c for c in SERVICE_CATEGORIES if c in present]
    return known + sorted(present - set(SERVICE_CATEGORIES))


def in_category(services: Iterable[Service], category: str) -> list[Service]:
    """The services of one category, in the bundle's order."""
    return [s for s in services if s.category == category]


def nearby_top(stations: Sequence[NearbyStation], count: int = 3) -> list[NearbyStation]:
    """The ``count`` nearest stations that have a charged battery (listed under "with charged batteries":
    one with none would send a rider with a flat battery there for nothing)."""
    return sorted((s for s in stations if s.charged_batteries > 0), key=lambda s: s.distance_m)[:count]


def nearby_line(station: NearbyStation, english: bool) -> Msg:
    """One nearby station as a list row."""
    distance = Nearby(station.name, station.name_en, float(station.distance_m), station.charged_batteries).distance()
    return Msg(
        N_("{name} · {distance} · {count} charged"),
        {
            "name": station.name_en if english else station.name,
            "distance": distance,
            "count": station.charged_batteries,
        },
    )


@dataclass(frozen=True)
class MapPoint:
    """A station on the map drawing: where (0..1 across, 0..1 up) and what its label says."""

    x: float
    y: float
    station: NearbyStation | None
    """None: this station (the centre)."""


METRES_PER_DEGREE = 111_320.0


def map_points(here: Location | None, stations: Sequence[NearbyStation], margin: float = 0.12) -> list[MapPoint]:
    """This station at the centre and the others by their bearing, scaled so the farthest fits the drawing.

    A flat (equirectangular) projection around this station: at a few kilometres its error is far below
    what a sketch shows. Empty when this station's place is unknown; stations without coordinates are
    left out (the list still shows them).
    """
    if here is None:
        return []
    shrink = math.cos(math.radians(here.latitude))
    offsets: list[tuple[float, float, NearbyStation]] = []
    for station in stations:
        if station.latitude is None or station.longitude is None:
            continue
        east = (station.longitude - here.longitude) * METRES_PER_DEGREE * shrink
        north = (station.latitude - here.latitude) * METRES_PER_DEGREE
        offsets.append((east, north, station))
    reach = max((max(abs(e), abs(n)) for e, n, _ in offsets), default=0.0)
    scale = (0.5 - margin) / reach if reach > 0 else 0.0
    points = [MapPoint(0.5, 0.5, None)]
    points += [MapPoint(0.5 + e * scale, 0.5 + n * scale, s) for e, n, s in offsets]
    return points


def when(at: datetime | None, zone: ZoneInfo) -> str:
    """A moment as the station's local date and time ('' when unknown)."""
    if at is None:
        return ""
    return at.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def balance_lines(view: RiderView, zone: ZoneInfo) -> list[Msg]:
    """What the points screen says about the balance: the figure, what waits for the city, how fresh it is."""
    if view.balance is None:
        return [Msg(N_("Your points are not known here yet."))]
    lines = [Msg(N_("You have {points} points"), {"points": view.balance})]
    if view.pending:
        lines.append(Msg(N_("Waiting for the city to confirm {points} points"), {"points": view.pending}))
    if view.balance_as_of is not None:
        lines.append(Msg(N_("Last updated {date}"), {"date": when(view.balance_as_of, zone)}))
    return lines


def correction_lines(view: RiderView) -> list[Msg]:
    """Spends the city rejected since the last visit, each in plain words (shown once)."""
    return [
        Msg(
            N_("{points} points you spent on {date} were already used at another station, so the city took them back."),
            {"points": c.points, "date": c.at.strftime("%Y-%m-%d")},
        )
        for c in view.corrections
    ]


def affordable(offer: CatalogueOffer, balance: int | None) -> bool:
    """Whether the rider's points cover ``offer`` (an unknown balance is left to core to judge)."""
    return balance is None or balance >= offer.points


def offer_line(offer: CatalogueOffer, english: bool, balance: int | None = None) -> Msg:
    """A catalogue item with its price, or why it cannot be had: "out of stock", "you need N more"."""
    name = offer.name_en if english else offer.name_zh
    if offer.in_stock <= 0:
        return Msg(N_("{name} · {points} points · out of stock"), {"name": name, "points": offer.points})
    if balance is not None and not affordable(offer, balance):
        missing = offer.points - balance
        return Msg(
            N_("{name} · {points} points · you need {missing} more"),
            {"name": name, "points": offer.points, "missing": missing},
        )
    return Msg(N_("{name} · {points} points"), {"name": name, "points": offer.points})


def spend_question(offer: CatalogueOffer, english: bool) -> Msg:
    """The confirmation before a spend: what it costs and what the rider gets."""
    name = offer.name_en if english else offer.name_zh
    return Msg(N_("Spend {points} points for {name}?"), {"points": offer.points, "name": name})


def booking_question(service: Service, slot: BookingSlot, zone: ZoneInfo, english: bool) -> Msg:
    """The confirmation before a booking: which service, which time and place."""
    title = service.title_en if english else service.title_zh
    return Msg(
        N_("Ask for {service} at {time}? The city will confirm."),
        {"service": title, "time": slot_line(slot, zone, english)},
    )


def redeem_text(answer: RedeemAnswer, english: bool) -> Msg:
    """Why a spend was refused; core's own words for a reason this UI does not know."""
    known = REDEEM_REFUSALS.get(answer.reason or "")
    if known is not None:
        return Msg(known)
    core = answer.message_en if english else answer.message_zh
    return Msg("{text}", {"text": core}) if core else Msg(COULD_NOT)


def slot_line(slot: BookingSlot, zone: ZoneInfo, english: bool) -> Msg:
    """A bookable time as a button's words: the day, the hours and the place."""
    starts, ends = slot.starts.astimezone(zone), slot.ends.astimezone(zone)
    place = slot.place_en if english else slot.place_zh
    return Msg(
        N_("{day} {start}–{end} {place}"),
        {
            "day": starts.strftime("%m-%d"),
            "start": starts.strftime("%H:%M"),
            "end": ends.strftime("%H:%M"),
            "place": place,
        },
    )


def page_of(items: Sequence[T], page: int, size: int) -> tuple[list[T], bool]:
    """Page ``page`` (wrapping round) of ``items`` in pages of ``size``, and whether there is more than one page."""
    size = max(1, size)
    pages = max(1, math.ceil(len(items) / size))
    start = (page % pages) * size
    return list(items[start : start + size]), pages > 1


def booking_line(booking: RiderBooking, services: Sequence[Service], zone: ZoneInfo, english: bool) -> Msg:
    """One of the rider's bookings: the service, the time, the status (and the city's note)."""
    service = next((s for s in services if s.id == booking.service_id), None)
    title = (service.title_en if english else service.title_zh) if service is not None else booking.service_id
    params = {
        "service": title,
        "time": when(booking.starts, zone) or booking.slot_id,
        "status": Msg(BOOKING_STATUS.get(booking.status, booking.status)),
        "note": booking.note,
    }
    if booking.note:
        return Msg(N_("{service}, {time}: {status} ({note})"), params)
    return Msg(N_("{service}, {time}: {status}"), params)
