"""My points: the balance as far as the station knows, a correction from the city, and the catalogue to spend on."""

from __future__ import annotations

from functools import partial

from kivy.properties import BooleanProperty, NumericProperty, StringProperty

from kiosk.api.rider_models import CatalogueOffer, RedeemAnswer, RiderView, StationContent
from kiosk.ui import widgets  # noqa: F401 - registers the widgets the layout uses
from kiosk.ui.calls import Answer
from kiosk.ui.i18n import N_
from kiosk.ui.rider_views import (
    affordable,
    balance_lines,
    correction_lines,
    offer_line,
    page_of,
    problem_text,
    redeem_text,
    spend_question,
)
from kiosk.ui.screens.base import KioskScreen, Translate
from kiosk.ui.views import Msg, UiScreen, View
from kiosk.ui.widgets import Choice


class PointsScreen(KioskScreen):
    """The identified rider's points and what they can get for them here."""

    ui = UiScreen.POINTS
    balance = StringProperty("")
    """The balance, big; ``body`` has what waits for the city and how fresh it is."""
    correction = StringProperty("")
    more = BooleanProperty(False)
    choice_rows = NumericProperty(0)
    choice_cols = NumericProperty(2)
    back_text = StringProperty("")
    more_text = StringProperty("")
    busy = BooleanProperty(False)
    """A spend is on its way: the items wait (one spend at a time)."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.catalogue: list[CatalogueOffer] = []
        self.rider: RiderView | None = None
        self.page_index = 0
        self.portrait = False
        self.confirming: CatalogueOffer | None = None
        """The item the rider tapped: "Spend N points for it?" waits for Confirm or Cancel."""

    def show(self, view: View, shown_at: float, t: Translate) -> None:
        """Open on the first page of the catalogue; the balance follows from core."""
        self.page_index, self.busy, self.rider, self.confirming = 0, False, None, None
        super().show(view, shown_at, t)

    def set_data(self, content: StationContent | None, rider: RiderView | None, t: Translate) -> None:
        """Fresh content (the catalogue) or a fresh view of the rider (the balance)."""
        if content is not None:
            self.catalogue = list(content.catalogue)
        self.rider = rider
        self.render(t)

    def set_portrait(self, portrait: bool, t: Translate) -> None:
        """Upright displays get one column."""
        self.portrait = portrait
        self.render(t)

    def redeemed(self, answer: Answer[RedeemAnswer], t: Translate) -> None:
        """A spend's answer: on ``ok`` core shows the bay to take the item from; else why not."""
        self.busy = False
        if answer.value is None:
            self.tell(Msg(problem_text(answer.problem)), t)
        elif answer.value.ok:
            self.tell(Msg(N_("Opening bay {bay}…"), {"bay": answer.value.bay or "?"}), t)
        else:
            self.tell(redeem_text(answer.value, self.english), t)
        self.render(t)

    def render(self, t: Translate) -> None:
        """The balance, the correction, the catalogue page."""
        super().render(t)
        self.title = t(N_("My points"))
        self.back_text = t(N_("Back"))
        self.more_text = t(N_("More"))
        rider = self.rider
        if rider is None:
            self.balance, self.body, self.correction = "", t(N_("Reading your points…")), ""
        else:
            lines = [m.render(t) for m in balance_lines(rider, self.zone)]
            self.balance, self.body = lines[0], " · ".join(lines[1:])
            self.correction = "\n".join(m.render(t) for m in correction_lines(rider))
        # One row across a landscape display leaves the balance and the answer room to be read.
        rows, cols = (3, 1) if self.portrait else (1, 3)
        balance = rider.balance if rider is not None else None
        if self.confirming is not None:
            self.more, cols = False, 2
            self.body = spend_question(self.confirming, self.english).render(t)
            choices = [
                Choice(t(N_("Confirm")), self.confirm, "good", enabled=not self.busy),
                Choice(t(N_("Cancel")), self.cancel, "info"),
            ]
        else:
            shown, self.more = page_of(self.catalogue, self.page_index, rows * cols)
            # An item the rider cannot have is grey and says why on its face, rather than green and refused.
            choices = [
                Choice(
                    offer_line(o, self.english, balance).render(t),
                    partial(self.choose, o),
                    "good",
                    enabled=o.in_stock > 0 and affordable(o, balance) and not self.busy and rider is not None,
                )
                for o in shown
            ]
        if not self.catalogue:
            self.body = " · ".join(
                x for x in (self.body, t(N_("Nothing to spend points on at this station yet."))) if x
            )
        self.choice_rows = -(-len(choices) // cols) if choices else 0
        self.choice_cols = cols
        grid = self.ids.get("choices")
        if grid is not None:
            grid.set_choices(choices)

    def choose(self, offer: CatalogueOffer) -> None:
        """The rider picked an item: ask "Spend N points for it?" first (one tap never spends)."""
        if self.busy:
            return
        self.confirming = offer
        self.tell(None, self.translate)
        self.render(self.translate)

    def cancel(self) -> None:
        """No spend after all: back to the items."""
        self.confirming = None
        self.render(self.translate)

    def confirm(self) -> None:
        """The rider confirmed: spend the points (the buttons wait for the answer)."""
        offer, self.confirming = self.confirming, None
        if self.host is None or self.busy or offer is None:
            self.render(self.translate)
            return
        self.busy = True
        self.tell(
            Msg(N_("Asking for your {name}…"), {"name": offer.name_en if self.english else offer.name_zh}),
            self.translate,
        )
        self.render(self.translate)
        self.host.redeem(offer.id)

    def next_page(self) -> None:
        """The "More" button."""
        self.page_index += 1
        self.render(self.translate)

    def back(self) -> None:
        """Leave the confirmation (nothing spent), else the points."""
        if self.confirming is not None:
            self.cancel()
        elif self.host is not None:
            self.host.close_local()
