"""The rider's on-screen keyboard: every key at least the 15 mm touch target, on any display, in pages.

Kivy's VKeyboard draws a whole QWERTY layout (about 14 keys a row) in whatever box it gets, so on the
7" 800×480 display its keys are half of 15 mm. This keyboard asks instead how many keys of at least
``least`` pixels fit its box across and down, and spreads its characters over as many pages as that
takes; the page key (beside the space and delete keys, see :class:`KeyboardControls`) says what the next
page holds ("s–z 0–9"), so no words are needed for it in either language.

Latin letters and digits only: Chinese needs an input method (IME), which the station does not have.
"""

from __future__ import annotations

from typing import Any

from kivy.clock import Clock
from kivy.properties import NumericProperty, ObjectProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.gridlayout import GridLayout
from kivy.uix.widget import Widget

from kiosk.ui.widgets import BigButton

LETTERS = "abcdefghijklmnopqrstuvwxyz"
DIGITS = "0123456789"
KEYS = LETTERS + DIGITS
"""What the rider can type, in the order the pages show it (alphabetical: no layout to have learned)."""


def fitting(length: float, least: float, gap: float) -> int:
    """How many cells of at least ``least`` fit side by side in ``length`` with ``gap`` between them.

    At least one: a box too small for one key still shows it (too small), so a render check notices
    instead of the keyboard silently vanishing.
    """
    if least <= 0:
        raise ValueError(f"a key needs a positive least size, not {least}")
    return max(1, int((length + gap) // (least + gap)))


def paginate(keys: str, per_page: int) -> list[str]:
    """``keys`` in order, ``per_page`` to a page (one empty page when there are no keys)."""
    if per_page < 1:
        raise ValueError(f"a page holds at least one key, not {per_page}")
    return [keys[i : i + per_page] for i in range(0, len(keys), per_page)] or [""]


def _kind(char: str) -> str:
    return "digit" if char.isdigit() else "letter" if char.isalpha() else char


def page_label(keys: str) -> str:
    """What a page holds, as runs of letters and of digits: 'a–r', 's–z 0–9', 'z 0–9'."""
    runs: list[str] = []
    start = 0
    for i in range(1, len(keys) + 1):
        if i == len(keys) or _kind(keys[i]) != _kind(keys[start]):
            first, last = keys[start], keys[i - 1]
            runs.append(first if first == last else f"{first}–{last}")
            start = i
    return " ".join(runs)


class KeyButton(BigButton):
    """One character key (its character is its text)."""


class RiderKeyboard(GridLayout):  # type: ignore[misc]
    """A grid of character keys, each at least ``least`` pixels both ways; the characters over pages.

    The grid fills its box: as many columns and rows as fit at ``least`` plus ``spacing``, keys stretched
    to share what is left; a short last page is padded with blank cells so its keys keep their size.
    A key press is dispatched as ``on_key(char)``.
    """

    least = NumericProperty(80)
    """The smallest key (the app's 15 mm touch target, in pixels)."""
    keys = StringProperty(KEYS)
    """The characters, in page order."""
    page = NumericProperty(0)
    """The page shown (0 first)."""
    page_count = NumericProperty(1)
    """How many pages the characters take at this size."""
    next_label = StringProperty("")
    """What the next page holds ('' when everything fits on one page)."""

    __events__ = ("on_key",)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pages: list[str] = [self.keys]
        self._rebuild = Clock.create_trigger(self.rebuild, -1)
        self.bind(size=self._rebuild, least=self._rebuild, keys=self._rebuild, page=self._rebuild)
        self.bind(spacing=self._rebuild)
        self._rebuild()

    def rebuild(self, *_: Any) -> None:
        """Lay the page out for the box's size now (normally triggered before the next frame)."""
        gap_x, gap_y = self.spacing
        cols = fitting(self.width, self.least, gap_x)
        rows = fitting(self.height, self.least, gap_y)
        self.pages = paginate(self.keys, cols * rows)
        self.page_count = len(self.pages)
        shown = min(int(self.page), self.page_count - 1)
        if shown != self.page:
            self.page = shown  # fewer pages after a resize: the last one (triggers this again)
        self.next_label = page_label(self.pages[(shown + 1) % self.page_count]) if self.page_count > 1 else ""
        self.clear_widgets()
        self.cols = cols
        for char in self.pages[shown]:
            key = KeyButton(text=char)
            key.bind(on_release=lambda _b, c=char: self.dispatch("on_key", c))
            self.add_widget(key)
        for _blank in range(cols * rows - len(self.pages[shown])):
            self.add_widget(Widget())

    def turn_page(self) -> None:
        """Show the next page (after the last, the first)."""
        self.page = (int(self.page) + 1) % max(1, self.page_count)

    def key_buttons(self) -> list[KeyButton]:
        """The character keys shown, in reading order."""
        return [w for w in reversed(self.children) if isinstance(w, KeyButton)]

    def key_for(self, char: str) -> KeyButton | None:
        """The key that types ``char`` on the page shown (None: it is on another page)."""
        return next((k for k in self.key_buttons() if k.text == char), None)

    def on_key(self, char: str) -> None:
        """A character key was pressed (bind to this)."""


class KeyboardControls(BoxLayout):  # type: ignore[misc]
    """The keys beside the characters: next page, space, delete (in the bottom bar, next to 'finished').

    ``keyboard`` is the :class:`RiderKeyboard` they belong to; the page key is left out while
    everything fits on one page. Presses are dispatched as ``on_space`` and ``on_delete``.
    """

    keyboard = ObjectProperty(None, allownone=True)
    least = NumericProperty(80)
    """The smallest key (the app's 15 mm touch target, in pixels)."""
    space_text = StringProperty("space")
    delete_text = StringProperty("delete")

    __events__ = ("on_space", "on_delete")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.page_key = BigButton(size_hint_x=None, tone="warn")
        self.space_key = BigButton(tone="info")
        self.delete_key = BigButton(size_hint_x=None, tone="bad")
        self.page_key.bind(on_release=lambda _b: self.keyboard.turn_page() if self.keyboard is not None else None)
        self.space_key.bind(on_release=lambda _b: self.dispatch("on_space"))
        self.delete_key.bind(on_release=lambda _b: self.dispatch("on_delete"))
        self.bind(keyboard=self._follow, least=self._sizes, space_text=self._texts, delete_text=self._texts)
        self.add_widget(self.space_key)
        self.add_widget(self.delete_key)
        self._sizes()
        self._texts()
        self._follow()

    def _sizes(self, *_: Any) -> None:
        self.page_key.width = self.delete_key.width = self.least

    def _texts(self, *_: Any) -> None:
        self.space_key.text = self.space_text
        self.delete_key.text = self.delete_text

    def _follow(self, *_: Any) -> None:
        keyboard = self.keyboard
        if keyboard is not None:
            keyboard.bind(next_label=self._paged)
            self._paged(keyboard, keyboard.next_label)

    def _paged(self, _keyboard: Any, label: str) -> None:
        """The page key shows the next page's keys; it is there only when there is another page."""
        self.page_key.text = label
        if label and self.page_key.parent is None:
            self.add_widget(self.page_key, index=len(self.children))
        elif not label and self.page_key.parent is not None:
            self.remove_widget(self.page_key)

    def on_space(self) -> None:
        """The space key was pressed (bind to this)."""

    def on_delete(self) -> None:
        """The delete key was pressed (bind to this)."""
