"""Services: the city's services by category, a service's details with a QR code, and booking a time.

The rider moves through the pages here (categories → list → details); opening details is recorded
(``service.viewed``), choosing a time of a bookable service asks the app to book it, and the answer
page says what happened and lists the rider's bookings.
"""

from __future__ import annotations

import enum
from functools import partial

from kivy.properties import BooleanProperty, NumericProperty, StringProperty

from kiosk.api.rider_models import BookingAnswer, RiderView, StationContent
from kiosk.core.content import BookingSlot, Service
from kiosk.ui import (
    pictures,  # noqa: F401 - registers the QR code widget
    widgets,  # noqa: F401 - registers the widgets the layout uses
)
from kiosk.ui.calls import Answer
from kiosk.ui.i18n import N_
from kiosk.ui.rider_views import (
    booking_line,
    booking_question,
    categories,
    category_label,
    in_category,
    page_of,
    problem_text,
    slot_line,
)
from kiosk.ui.screens.base import KioskScreen, Translate
from kiosk.ui.views import Msg, UiScreen, View
from kiosk.ui.widgets import Choice


class Page(enum.Enum):
    """Where the rider is among the services."""

    CATEGORIES = "categories"
    LIST = "list"
    DETAILS = "details"
    CONFIRM = "confirm"
    """ "Ask for this time?" before a booking is sent (one tap never books)."""
    ANSWER = "answer"


class ServicesScreen(KioskScreen):
    """The services terminal."""

    ui = UiScreen.SERVICES
    page_name = StringProperty(Page.CATEGORIES.value)
    qr_data = StringProperty("")
    more = BooleanProperty(False)
    choice_rows = NumericProperty(2)
    choice_cols = NumericProperty(2)
    back_text = StringProperty("")
    more_text = StringProperty("")

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.page = Page.CATEGORIES
        self.services: list[Service] = []
        self.category = ""
        self.service: Service | None = None
        self.slot: BookingSlot | None = None
        self.page_index = 0
        self.answer: Msg | None = None
        self.rider: RiderView | None = None
        self.portrait = False

    # --- what the app tells it ---------------------------------------------------------------------

    def show(self, view: View, shown_at: float, t: Translate) -> None:
        """Open at the categories; after a scan for a booking, on the answer page while it is sent."""
        self.page_index = 0
        if view.purpose == "booking":
            self.page, self.answer = Page.ANSWER, Msg(N_("Sending your request…"))
        else:
            self.page, self.service, self.answer, self.category = Page.CATEGORIES, None, None, ""
        super().show(view, shown_at, t)

    def set_data(self, content: StationContent | None, rider: RiderView | None, t: Translate) -> None:
        """Fresh content (the services) or a fresh view of the rider (their bookings)."""
        if content is not None:
            self.services = list(content.services)
        self.rider = rider
        self.render(t)

    def booked(self, answer: Answer[BookingAnswer], t: Translate) -> None:
        """The booking's answer (the app sent it)."""
        self.page = Page.ANSWER
        if answer.value is not None:
            self.answer = Msg(N_("Requested — the city will confirm. Scan your code here later to see the answer."))
        else:
            self.answer = Msg(problem_text(answer.problem))
        self.render(t)

    def set_portrait(self, portrait: bool, t: Translate) -> None:
        """Upright displays get fewer columns and more rows."""
        self.portrait = portrait
        self.render(t)

    # --- the pages ------------------------------------------------------------------------------------

    def render(self, t: Translate) -> None:
        """Words and buttons for the page the rider is on."""
        super().render(t)
        self.page_name = self.page.value
        self.back_text = t(N_("Back"))
        self.more_text = t(N_("More"))
        self.qr_data = ""
        grid = self.ids.get("choices")
        choices: list[Choice] = []
        rows, cols = (3, 1) if self.portrait else (2, 2)
        if self.page is Page.CATEGORIES:
            cols = 2 if self.portrait else 3
            self.title = t(N_("The city's services for you"))
            found = categories(self.services)
            shown, self.more = page_of(found, self.page_index, rows * cols)
            choices = [Choice(t(category_label(c)), partial(self.open_category, c)) for c in shown]
            self.body = "" if found else t(N_("No services are listed here yet."))
        elif self.page is Page.LIST:
            self.title = t(category_label(self.category))
            listed = in_category(self.services, self.category)
            shown_services, self.more = page_of(listed, self.page_index, rows * cols)
            choices = [Choice(self._title_of(s), partial(self.open_service, s)) for s in shown_services]
            self.body = ""
        elif self.page is Page.DETAILS and self.service is not None:
            service = self.service
            self.title = self._title_of(service)
            self.body = service.body_en if self.english else service.body_zh
            self.qr_data = service.url or ""
            rows, cols = 1, 1 if self.portrait else 2
            slots, self.more = page_of(service.slots if service.bookable else [], self.page_index, rows * cols)
            choices = [
                Choice(slot_line(s, self.zone, self.english).render(t), partial(self.choose_slot, s), "good")
                for s in slots
            ]
            if service.bookable and not service.slots:
                self.body += "\n" + t(N_("No free times right now."))
        elif self.page is Page.CONFIRM and self.service is not None and self.slot is not None:
            self.title = self._title_of(self.service)
            self.body = booking_question(self.service, self.slot, self.zone, self.english).render(t)
            self.more, rows, cols = False, 1, 2
            choices = [Choice(t(N_("Confirm")), self.confirm_slot, "good"), Choice(t(N_("Cancel")), self.back)]
        else:
            self.title = t(N_("Your booking"))
            lines = [self.answer.render(t)] if self.answer is not None else []
            if self.rider is not None and self.rider.bookings:
                lines.append(t(N_("Your bookings:")))
                lines += [
                    booking_line(b, self.services, self.zone, self.english).render(t) for b in self.rider.bookings
                ]
            self.body = "\n".join(lines)
            self.more = False
        self.choice_rows = -(-len(choices) // cols) if choices else 0
        self.choice_cols = cols
        if grid is not None:
            grid.set_choices(choices)

    def _title_of(self, service: Service) -> str:
        return service.title_en if self.english else service.title_zh

    # --- the rider's taps --------------------------------------------------------------------------------

    def open_category(self, category: str) -> None:
        """A category: its services."""
        self.page, self.category, self.page_index = Page.LIST, category, 0
        self._again()

    def open_service(self, service: Service) -> None:
        """A service's details (recorded as a view)."""
        self.page, self.service, self.page_index = Page.DETAILS, service, 0
        if self.host is not None:
            self.host.viewed(service)
        self._again()

    def choose_slot(self, slot: BookingSlot) -> None:
        """A time of a bookable service: ask "this time?" first."""
        self.page, self.slot = Page.CONFIRM, slot
        self._again()

    def confirm_slot(self) -> None:
        """The rider confirmed the time: the app books it (after a scan if needed)."""
        if self.host is not None and self.service is not None and self.slot is not None:
            self.host.book(self.service, self.slot)

    def next_page(self) -> None:
        """The "More" button."""
        self.page_index += 1
        self._again()

    def back(self) -> None:
        """One page up; from an answer back to the list the rider booked from; from the first page out."""
        self.page_index = 0
        if self.page is Page.CONFIRM:
            self.page = Page.DETAILS
        elif self.page is Page.DETAILS or (self.page is Page.ANSWER and self.category):
            self.page = Page.LIST
        elif self.page is Page.LIST:
            self.page = Page.CATEGORIES
        else:
            if self.host is not None:
                self.host.close_local()
            return
        self._again()

    def _again(self) -> None:
        self.notice_msg = None
        self.render(self.translate)
