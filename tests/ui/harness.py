"""Building the app for a test and reading what it shows."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from kivy.uix.button import Button
from kivy.uix.label import Label
from kivy.uix.widget import Widget

from kiosk.ui.app import KioskApp, LinkFactory
from kiosk.ui.calls import Answer, Call, Done, Problem
from kiosk.ui.settings import UiSettings
from tests.ui.loop import pump


class FakeLink:
    """Stands in for the core client where a test feeds the app core's news itself.

    Calls are recorded; each is answered (on the next frame, as the real client's answers arrive) from
    ``answers`` by its key (``"POST /api/rider/redeem"``): a value, a :class:`Problem`, or nothing.
    """

    def __init__(self) -> None:
        self.started = False
        self.closed = False
        self.reopens = 0
        self.calls: list[Call[Any]] = []
        self.answers: dict[str, Any] = {}

    def call(self, call: Call[Any], done: Done[Any] | None = None) -> None:
        """Recorded, and answered from ``answers`` at the next frame."""
        from kivy.clock import Clock

        self.calls.append(call)
        given = self.answers.get(call.key)
        answer: Answer[Any] = Answer(problem=given) if isinstance(given, Problem) else Answer(value=given)
        if done is not None:
            Clock.schedule_once(lambda _dt: done(answer), 0)

    def keys(self) -> list[str]:
        """The calls made so far, by key."""
        return [c.key for c in self.calls]

    def start(self) -> None:
        """Nothing to follow."""
        self.started = True

    def close(self) -> None:
        """Nothing to stop."""
        self.closed = True

    def request_reopen(self) -> None:
        """Counted."""
        self.reopens += 1


def start_app(window: Any, settings: UiSettings, link: LinkFactory | None, **kwargs: Any) -> KioskApp:
    """Build the app, put its root in the window, and start it as ``App.run`` would (without its loop)."""
    app = KioskApp(settings, link, **kwargs)
    app.root = app.build()
    window.add_widget(app.root)
    app.dispatch("on_start")
    pump(3)
    return app


def stop_app(window: Any, app: KioskApp) -> None:
    """Stop the app and take its root out of the window."""
    app.dispatch("on_stop")  # as App.stop does: kv's `app` proxy forgets this app
    window.remove_widget(app.root)
    pump()


def tap(widget: Widget, release: bool = True) -> Any:
    """Press ``widget`` with one finger (and lift it unless ``release`` is False); the touch."""
    from kivy.tests.common import UnitTestTouch

    touch = UnitTestTouch(*widget.to_window(*widget.center))
    touch.touch_down()
    if release:
        pump()
        touch.touch_up()
    pump()
    return touch


def visible(widget: Widget) -> bool:
    """Drawn and not hidden by an ancestor's opacity."""
    node: Any = widget
    while node is not None:
        if getattr(node, "opacity", 1) == 0:
            return False
        parent = node.parent
        node = None if parent is node else parent
    return True


def shown_screen(app: KioskApp) -> Widget:
    """The screen on display now."""
    return app.root.ids.manager.current_screen


def walk_shown(app: KioskApp) -> Iterator[Widget]:
    """Every widget drawn now: the header, the safety line under it, and the current screen."""
    yield from app.root.ids.header.walk()
    yield from app.root.ids.safety_strip.walk()
    yield from shown_screen(app).walk()


def texts(app: KioskApp) -> list[str]:
    """The text of every visible label and button, header first."""
    return [w.text for w in walk_shown(app) if isinstance(w, Label) and w.text and visible(w)]


def overflowing(app: KioskApp) -> list[str]:
    """Visible labels whose rendered text is larger than their box (should be none)."""
    bad = []
    for widget in walk_shown(app):
        if isinstance(widget, Label) and widget.text and visible(widget):
            tw, th = widget.texture_size
            if tw > widget.width + 0.5 or th > widget.height + 0.5:
                bad.append(f"{widget.text!r}: text {tw}x{th} in a {widget.width:.0f}x{widget.height:.0f} box")
    return bad


def _window_rect(widget: Widget) -> tuple[float, float, float, float]:
    parent = widget.parent
    x, y = parent.to_window(*widget.pos) if parent is not None and parent is not widget else widget.pos
    return x, y, x + widget.width, y + widget.height


def escaping(app: KioskApp) -> list[str]:
    """Visible widgets drawn outside their parent layout (over a neighbour); should be none."""
    from kivy.uix.layout import Layout
    from kivy.uix.screenmanager import Screen

    bad = []
    for widget in walk_shown(app):
        parent = widget.parent
        if not isinstance(parent, Layout) or isinstance(widget, Screen) or not visible(widget):
            continue
        if widget.width < 2 or widget.height < 2:
            continue
        x0, y0, x1, y1 = _window_rect(widget)
        px0, py0, px1, py1 = _window_rect(parent)
        if x0 < px0 - 1 or y0 < py0 - 1 or x1 > px1 + 1 or y1 > py1 + 1:
            name = getattr(widget, "text", "") or type(widget).__name__
            where = f"{x0:.0f},{y0:.0f}-{x1:.0f},{y1:.0f}"
            bad.append(f"{name!r} at {where} outside {px0:.0f},{py0:.0f}-{px1:.0f},{py1:.0f}")
    return bad


def small_buttons(app: KioskApp) -> list[str]:
    """Visible, enabled buttons smaller than the 15 mm touch target."""
    least = app.touch - 0.5
    return [
        f"{b.text!r}: {b.width:.0f}x{b.height:.0f} < {app.touch}"
        for b in walk_shown(app)
        if isinstance(b, Button) and b.text and not b.disabled and visible(b) and min(b.size) < least
    ]


def drawn_lines(label: Label) -> list[str]:
    """The lines a label drew, as Kivy laid them out (its core label's cached lines)."""
    core = label._label
    return ["".join(word.text for word in line.words) for line in getattr(core, "_cached_lines", [])]


def lone_last_lines(app: KioskApp) -> list[str]:
    """Visible Chinese texts drawn with a lone character or punctuation mark on a line, or a line starting
    with closing punctuation (see :mod:`kiosk.ui.linebreak`); should be none."""
    from kiosk.ui.linebreak import CLOSING, has_cjk, pieces

    bad = []
    for widget in walk_shown(app):
        if not (isinstance(widget, Label) and widget.text and visible(widget) and has_cjk(widget.text)):
            continue
        lines = [line.strip() for line in drawn_lines(widget)]
        paragraphs = widget.text.count("\n") + 1
        for i, line in enumerate(lines):
            if line and line[0] in CLOSING:
                bad.append(f"{widget.text!r}: line {i + 1} starts with {line[0]!r}: {lines}")
        if len(lines) > paragraphs and len(pieces(lines[-1])) == 1 and has_cjk(lines[-1]):
            bad.append(f"{widget.text!r}: its last line is a lone {lines[-1]!r}: {lines}")
    return bad
