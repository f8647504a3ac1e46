"""Widgets every screen uses: text that always fits its box, big buttons, the cabinet diagram, the scanner hint.

Their look is in ``widgets.kv`` (loaded once by the screen registry).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from kivy.clock import Clock
from kivy.graphics import Color, Line, Rectangle
from kivy.properties import BooleanProperty, ListProperty, NumericProperty, OptionProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.button import Button
from kivy.uix.gridlayout import GridLayout
from kivy.uix.label import Label
from kivy.uix.widget import Widget

from kiosk.ui.font_sizes import ladder
from kiosk.ui.linebreak import break_lines, has_cjk

TONES: dict[str, tuple[float, float, float, float]] = {
    "info": (0.18, 0.50, 0.93, 1),
    "good": (0.15, 0.68, 0.38, 1),
    "warn": (0.95, 0.66, 0.0, 1),
    "bad": (0.92, 0.34, 0.34, 1),
    "dim": (0.30, 0.33, 0.38, 1),
}
"""The colour of each tone (see :class:`kiosk.ui.views.Tone`)."""
BACKGROUND = (0.055, 0.09, 0.15, 1)
PANEL = (0.11, 0.16, 0.25, 1)
DIM = (0.30, 0.33, 0.38, 1)


def fit_font(label: Any, low: float, high: float) -> None:
    """Give ``label`` the largest font size of the ladder in [low, high] whose wrapped text fits its box.

    A binary search over the ladder's sizes (:mod:`kiosk.ui.font_sizes`: few sizes, so few fonts open),
    rendering the texture each time (about four renders per change, and only when text or size change). The
    text wraps at the box's width; the texture is centred by the default Label canvas, so nothing else is
    needed for vertical centring.
    """
    width, height = label.size
    if width < 4 or height < 4 or not label.text:
        return
    line_width = max(1.0, width - 2 * label.padding_x)
    label.text_size = (line_width, None)
    chinese = has_cjk(label.text)
    sizes = ladder(low, high)
    best = sizes[0]
    lo, hi = 1, len(sizes) - 1
    while lo <= hi:
        mid = (lo + hi) // 2
        label.font_size = sizes[mid]
        if chinese:
            _break_here(label, line_width)
        label.texture_update()
        tw, th = label.texture_size
        if tw <= width and th <= height:
            best, lo = sizes[mid], mid + 1
        else:
            hi = mid - 1
    label.font_size = best
    if chinese:
        _break_here(label, line_width)
    label.texture_update()


def _break_here(label: Any, line_width: float) -> None:
    """Give the label's renderer the text broken by :func:`kiosk.ui.linebreak.break_lines` at its font size.

    Only the core label's copy changes (what is drawn); ``label.text`` stays the words the screen set.
    """
    core = label._label
    core.text = "\n".join(break_lines(label.text, lambda s: float(core.get_extents(s)[0]), line_width))


class FitLabel(Label):  # type: ignore[misc]
    """A label whose font shrinks (down to ``min_font``) until its text fits the box; never overflows."""

    max_font = NumericProperty(32)
    min_font = NumericProperty(12)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._refit = Clock.create_trigger(self.refit, -1)
        self.bind(size=self._refit, text=self._refit, max_font=self._refit, min_font=self._refit)

    def refit(self, *_: Any) -> None:
        """Fit the text now (normally triggered before the next frame by a size or text change)."""
        fit_font(self, self.min_font, self.max_font)


class BigButton(Button):  # type: ignore[misc]
    """A glove-sized button (its size comes from the layout; ``app.touch`` is the least) with fitting text."""

    max_font = NumericProperty(28)
    min_font = NumericProperty(12)
    tone = StringProperty("info")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._refit = Clock.create_trigger(self.refit, -1)
        self.bind(size=self._refit, text=self._refit, max_font=self._refit)

    def refit(self, *_: Any) -> None:
        """Fit the text now."""
        fit_font(self, self.min_font, self.max_font)


@dataclass(frozen=True)
class Choice:
    """One button of a :class:`ChoiceGrid`: its words, what pressing it does, its tone, whether it works."""

    text: str
    action: Callable[[], None]
    tone: str = "info"
    enabled: bool = True


class ChoiceGrid(GridLayout):  # type: ignore[misc]
    """A grid of big buttons made from :class:`Choice` rows (lists that come from the city's content)."""

    def set_choices(self, choices: Sequence[Choice]) -> None:
        """Replace the buttons (a disabled one is greyed, e.g. an item out of stock)."""
        self.clear_widgets()
        for choice in choices:
            button = BigButton(text=choice.text, tone=choice.tone if choice.enabled else "dim")
            button.disabled = not choice.enabled
            button.bind(on_release=lambda _b, act=choice.action: act())
            self.add_widget(button)

    def buttons(self) -> list[BigButton]:
        """The buttons in screen order."""
        return list(reversed(self.children))


class Band(BoxLayout):  # type: ignore[misc]
    """A panel with a coloured stripe on its left (the tone of the message)."""

    tone = StringProperty("info")


class CabinetDiagram(GridLayout):  # type: ignore[misc]
    """The cabinet's bays as a grid, the rider's bay lit in the message's tone, faulted ones greyed."""

    bays = ListProperty([])
    faulted = ListProperty([])
    highlight = NumericProperty(0)
    tone = StringProperty("info")
    columns = NumericProperty(4)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._rebuild = Clock.create_trigger(self.rebuild, -1)
        self.bind(bays=self._rebuild, faulted=self._rebuild, highlight=self._rebuild, columns=self._rebuild)
        self.bind(tone=self._rebuild)

    def rebuild(self, *_: Any) -> None:
        """One cell per bay, in bay order."""
        self.clear_widgets()
        self.cols = max(1, int(self.columns))
        for number in self.bays:
            cell = BayCell(text=str(number))
            if number == self.highlight:
                cell.fill = TONES.get(self.tone, TONES["info"])
                cell.lit = True
            elif number in self.faulted:
                cell.fill = DIM
            self.add_widget(cell)


class BayCell(FitLabel):
    """One bay door in the cabinet diagram."""

    fill = ListProperty(list(PANEL))
    lit = BooleanProperty(False)


class ScannerHint(Widget):  # type: ignore[misc]
    """A phone showing a QR code and an arrow pointing where the scanner is (drawn, no image files)."""

    direction = OptionProperty("below", options=["below", "left", "right"])

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._redraw = Clock.create_trigger(self.redraw, -1)
        self.bind(pos=self._redraw, size=self._redraw, direction=self._redraw)

    def redraw(self, *_: Any) -> None:
        """Draw the phone, its code and the arrow for the current size."""
        self.canvas.clear()
        x, y = self.pos
        w, h = self.size
        side = min(w, h)
        if side < 10:
            return
        phone_w, phone_h = side * 0.38, side * 0.62
        px, py = x + (w - phone_w) / 2, y + (h - phone_h) / 2 + side * 0.1
        qr = phone_w * 0.7
        qx, qy = px + (phone_w - qr) / 2, py + (phone_h - qr) / 2
        cell = qr / 7
        pattern = ("1110111", "1010100", "1110101", "0001010", "1101111", "0110101", "1011101")
        with self.canvas:
            Color(0.85, 0.88, 0.93, 1)
            Line(rounded_rectangle=(px, py, phone_w, phone_h, side * 0.04), width=max(1.5, side * 0.012))
            Color(1, 1, 1, 1)
            Rectangle(pos=(qx - cell * 0.3, qy - cell * 0.3), size=(qr + cell * 0.6, qr + cell * 0.6))
            Color(0.05, 0.05, 0.05, 1)
            for row, bits in enumerate(pattern):
                for col, bit in enumerate(bits):
                    if bit == "1":
                        Rectangle(pos=(qx + col * cell, qy + (6 - row) * cell), size=(cell, cell))
            Color(*TONES["warn"])
            width = max(3.0, side * 0.03)
            cx, cy = x + w / 2, y + h / 2
            if self.direction == "below":
                tip = (cx, y + side * 0.02)
                Line(points=[cx, py - side * 0.03, *tip], width=width)
                head = side * 0.08
                Line(points=[tip[0] - head, tip[1] + head, *tip, tip[0] + head, tip[1] + head], width=width)
            else:
                sign = -1 if self.direction == "left" else 1
                start = (px if sign < 0 else px + phone_w) + sign * side * 0.03
                tip = (cx + sign * (w / 2 - side * 0.02), cy)
                Line(points=[start, cy, *tip], width=width)
                head = side * 0.08
                Line(points=[tip[0] - sign * head, cy + head, *tip, tip[0] - sign * head, cy - head], width=width)
