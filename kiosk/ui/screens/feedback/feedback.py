"""Feedback: a rating, one suggestion, optional words on the on-screen keyboard, sent anonymously or signed.

The on-screen keyboard (:mod:`kiosk.ui.keyboard`, keys of 15 mm or more over pages) types Latin letters and
digits only; Chinese words need an input method (IME), which this screen does not have.
"""

from __future__ import annotations

import enum
from functools import partial
from typing import Any

from kivy.properties import NumericProperty, StringProperty

from kiosk.api.rider_models import FeedbackAnswer, FeedbackRequest, RiderView, StationContent
from kiosk.core.rider_events import FEEDBACK_TEXT_MAX, FEEDBACK_TOPICS, FeedbackTopic
from kiosk.ui import widgets  # noqa: F401 - registers the widgets the layout uses
from kiosk.ui.calls import Answer
from kiosk.ui.i18n import N_
from kiosk.ui.keyboard import KeyboardControls, RiderKeyboard
from kiosk.ui.rider_views import problem_text, topic_label
from kiosk.ui.screens.base import KioskScreen, Translate
from kiosk.ui.views import Msg, UiScreen, View
from kiosk.ui.widgets import Choice

RATINGS = (1, 2, 3, 4, 5)


class Step(enum.Enum):
    """Where the rider is in giving feedback."""

    RATING = "rating"
    TOPIC = "topic"
    SEND = "send"
    WORDS = "words"
    SENDING = "sending"
    THANKS = "thanks"


class TypingKeyboard(RiderKeyboard):
    """The feedback screen's character keys (their size and spacing follow the app, in feedback.kv)."""


class TypingControls(KeyboardControls):
    """The feedback screen's space, delete and page keys (sized in feedback.kv)."""


class FeedbackScreen(KioskScreen):
    """How the rider finds the station, and what would make it better."""

    ui = UiScreen.FEEDBACK
    step_name = StringProperty(Step.RATING.value)
    words = StringProperty("")
    choice_rows = NumericProperty(1)
    choice_cols = NumericProperty(5)
    back_text = StringProperty("")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.step = Step.RATING
        self.rating = 0
        self.topic: str = ""
        self.topics: list[str] = list(FEEDBACK_TOPICS)
        self.thanks: Msg | None = None
        self.portrait = False

    def show(self, view: View, shown_at: float, t: Translate) -> None:
        """Start at the rating; after a scan to sign it, on the sending page."""
        if view.purpose == "feedback":
            self.step = Step.SENDING
        else:
            self.step, self.rating, self.topic, self.words, self.thanks = Step.RATING, 0, "", "", None
        super().show(view, shown_at, t)

    def set_data(self, content: StationContent | None, rider: RiderView | None, t: Translate) -> None:
        """The suggestions the city lists (those this UI knows words for)."""
        if content is not None:
            self.topics = [topic for topic in content.feedback_topics if topic in FEEDBACK_TOPICS] or list(
                FEEDBACK_TOPICS
            )
        self.render(t)

    def set_portrait(self, portrait: bool, t: Translate) -> None:
        """Upright displays get fewer columns."""
        self.portrait = portrait
        self.render(t)

    def request(self, signed: bool) -> FeedbackRequest:
        """What the rider chose, as the API takes it."""
        topic: FeedbackTopic = self.topic if self.topic in FEEDBACK_TOPICS else "other"  # type: ignore[assignment]
        return FeedbackRequest(rating=self.rating, topic=topic, text=self.words.strip(), signed=signed)

    def sent(self, answer: Answer[FeedbackAnswer], t: Translate) -> None:
        """The feedback's answer: thanks (with points earned), or that it could not be sent."""
        if answer.value is None:
            self.step = Step.SEND
            self.tell(Msg(problem_text(answer.problem)), t)
        else:
            self.step = Step.THANKS
            earned = answer.value.points_earned
            self.thanks = (
                Msg(N_("Thank you! Points earned: {points}"), {"points": earned})
                if earned
                else Msg(N_("Thank you! The city reads every suggestion."))
            )
        self.render(t)

    # --- the steps ----------------------------------------------------------------------------------

    def render(self, t: Translate) -> None:
        """Words and buttons for the step the rider is on."""
        super().render(t)
        self.step_name = self.step.value
        self.back_text = t(N_("Done")) if self.step is Step.THANKS else t(N_("Back"))
        if self.step is Step.WORDS:
            # The keyboard needs every pixel: "finished" is the bar's one button.
            self.back_text = t(N_("Finished typing"))
        choices: list[Choice] = []
        cols = 1
        if self.step is Step.RATING:
            self.title = t(N_("How was this station today?"))
            self.body = t(N_("1 star: bad · 5 stars: very good"))
            choices = [Choice("★" * n, partial(self.rate, n), "warn") for n in RATINGS]
            cols = 2 if self.portrait else 5
        elif self.step is Step.TOPIC:
            self.title = t(N_("What would make it better?"))
            self.body = ""
            choices = [Choice(t(topic_label(x)), partial(self.choose_topic, x)) for x in self.topics]
            cols = 2 if self.portrait else 4
        elif self.step is Step.SEND:
            self.title = t(N_("Send your feedback"))
            summary = Msg(N_("{stars} · {topic}"), {"stars": "★" * self.rating, "topic": Msg(topic_label(self.topic))})
            self.body = summary.render(t) + (f"\n“{self.words}”" if self.words else "")
            choices = [
                Choice(t(N_("Add words")), self.open_keyboard),
                Choice(t(N_("Send anonymously")), lambda: self.send(False), "good"),
                Choice(t(N_("Sign with my code")), lambda: self.send(True), "good"),
            ]
            cols = 1 if self.portrait else 3
        elif self.step is Step.WORDS:
            self.title = self._typing_title(t)
            self.body = self.words or "…"
        elif self.step is Step.SENDING:
            self.title = t(N_("Send your feedback"))
            self.body = t(N_("Sending…"))
        else:
            self.title = t(N_("Feedback sent"))
            self.body = self.thanks.render(t) if self.thanks is not None else ""
        self.choice_cols = cols
        self.choice_rows = -(-len(choices) // cols) if choices else 0
        grid = self.ids.get("choices")
        if grid is not None:
            grid.set_choices(choices)
        self._place_keyboard(self.step is Step.WORDS)

    def _place_keyboard(self, wanted: bool) -> None:
        """The keyboard exists only while the rider types (a hidden one would still catch touches).

        Its character keys fill the space between the words and the bottom bar; space, delete and the
        page key sit in the bar beside "finished typing".
        """
        box, bar = self.ids.get("keyboard_box"), self.ids.get("keyboard_bar")
        if box is None or bar is None:
            return
        if wanted and not box.children:
            keyboard = TypingKeyboard()
            keyboard.bind(on_key=lambda _k, char: self.type_text(char))
            controls = TypingControls(keyboard=keyboard)
            controls.bind(on_space=lambda _c: self.type_text(" "), on_delete=lambda _c: self.delete())
            box.add_widget(keyboard)
            bar.add_widget(controls)
        elif not wanted and box.children:
            box.clear_widgets()
            bar.clear_widgets()
        shown = self.controls
        if shown is not None:
            shown.space_text = self.translate(N_("Space"))
            shown.delete_text = self.translate(N_("Delete"))

    @property
    def keyboard(self) -> RiderKeyboard | None:
        """The on-screen keyboard's character keys while the rider types."""
        box = self.ids.get("keyboard_box")
        return box.children[0] if box is not None and box.children else None

    @property
    def controls(self) -> KeyboardControls | None:
        """The keyboard's space, delete and page keys while the rider types."""
        bar = self.ids.get("keyboard_bar")
        return bar.children[0] if bar is not None and bar.children else None

    def _typing_title(self, t: Translate) -> str:
        """What to type; at the limit, that the text is as long as the city takes."""
        if len(self.words) >= FEEDBACK_TEXT_MAX:
            return Msg(N_("That is as much as fits: {count} characters"), {"count": FEEDBACK_TEXT_MAX}).render(t)
        return t(N_("Type a few words (letters and digits)"))

    def rate(self, rating: int) -> None:
        """A rating: next, the suggestion."""
        self.rating, self.step = rating, Step.TOPIC
        self.render(self.translate)

    def choose_topic(self, topic: str) -> None:
        """A suggestion: next, how to send it."""
        self.topic, self.step = topic, Step.SEND
        self.render(self.translate)

    def open_keyboard(self) -> None:
        """The on-screen keyboard for a few words."""
        self.step = Step.WORDS
        self.render(self.translate)

    def close_keyboard(self) -> None:
        """Back to sending, with the words."""
        self.step = Step.SEND
        self.render(self.translate)

    def type_text(self, text: str) -> None:
        """Characters from the keyboard (the text stops at the longest the city takes, and says so)."""
        self.words = (self.words + text)[:FEEDBACK_TEXT_MAX]
        self._show_words()

    def delete(self) -> None:
        """The delete key: the last character goes."""
        self.words = self.words[:-1]
        self._show_words()

    def _show_words(self) -> None:
        self.body = self.words or "…"
        if self.step is Step.WORDS:
            self.title = self._typing_title(self.translate)

    def send(self, signed: bool) -> None:
        """Send it (signed: the app asks for the code first unless the rider is already known)."""
        if self.host is None:
            return
        self.step = Step.SENDING
        self.notice_msg = None
        self.render(self.translate)
        self.host.send_feedback(self.request(signed))

    def back(self) -> None:
        """One step back; from the first step (or the thanks) out of feedback."""
        previous = {Step.TOPIC: Step.RATING, Step.SEND: Step.TOPIC, Step.WORDS: Step.SEND}
        if self.step in previous:
            self.step = previous[self.step]
            self.render(self.translate)
        elif self.host is not None:
            self.host.close_local()
