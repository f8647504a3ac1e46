"""Feedback: a rating, one suggestion, optional words on the on-screen keyboard, sent anonymously or signed.

The on-screen keyboard types Latin letters and digits only; Chinese words need an input method (IME),
which this screen does not have.
"""

from __future__ import annotations

import enum
from functools import partial
from typing import Any

from kivy.properties import NumericProperty, StringProperty
from kivy.uix.vkeyboard import VKeyboard

from kiosk.api.rider_models import FeedbackAnswer, FeedbackRequest, RiderView, StationContent
from kiosk.core.rider_events import FEEDBACK_TEXT_MAX, FEEDBACK_TOPICS, FeedbackTopic
from kiosk.ui import widgets  # noqa: F401 - registers the widgets the layout uses
from kiosk.ui.calls import Answer
from kiosk.ui.i18n import N_
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


class TypingKeyboard(VKeyboard):  # type: ignore[misc]
    """Kivy's on-screen keyboard held in place inside the layout (no dragging, turning or zooming)."""


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
            self.title = t(N_("Type a few words (letters and digits)"))
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
        """The keyboard exists only while the rider types (a hidden one would still catch touches)."""
        box = self.ids.get("keyboard_box")
        if box is None or wanted == bool(box.children):
            return
        if wanted:
            keyboard = TypingKeyboard(size_hint=(1, 1))
            keyboard.bind(on_textinput=lambda _k, text: self.type_text(text))
            keyboard.bind(on_key_down=lambda _k, keycode, internal, _m: self.key_down(keycode, internal))
            box.add_widget(keyboard)
        else:
            box.clear_widgets()

    @property
    def keyboard(self) -> TypingKeyboard | None:
        """The on-screen keyboard while the rider types."""
        box = self.ids.get("keyboard_box")
        return box.children[0] if box is not None and box.children else None

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
        """Characters from the keyboard (the text stops at the longest the city takes)."""
        self.words = (self.words + text)[:FEEDBACK_TEXT_MAX]
        self.body = self.words or "…"

    def key_down(self, keycode: str | None, internal: str | None) -> None:
        """A key the keyboard sends as a key rather than as text: backspace deletes, a character is typed."""
        if keycode == "backspace":
            self.words = self.words[:-1]
            self.body = self.words or "…"
        elif keycode == "spacebar":
            self.type_text(" ")
        elif internal and keycode not in ("shift", "capslock", "layout", "special", "enter", "escape", "tab"):
            self.type_text(internal)

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
