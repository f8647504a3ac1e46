"""Pictures drawn on the station, never fetched: a service's QR code and the map of nearby stations.

The QR code is made by segno and put into a Kivy texture one pixel per module (scaled up without
smoothing, so the modules stay crisp); the map is a sketch on the canvas (no tiles, no network).
"""

from __future__ import annotations

from typing import Any

import segno
from kivy.clock import Clock
from kivy.core.text import Label as CoreLabel
from kivy.graphics import Color, Ellipse, Line, Rectangle
from kivy.graphics.texture import Texture
from kivy.properties import ListProperty, NumericProperty, StringProperty
from kivy.uix.image import Image
from kivy.uix.widget import Widget

from kiosk.ui.font_sizes import step_at_most
from kiosk.ui.rider_views import MapPoint
from kiosk.ui.widgets import PANEL, TONES

QUIET_ZONE = 2
"""Light modules around the code (a phone reads it well on a light panel with a narrow border)."""


def qr_modules(text: str, border: int = QUIET_ZONE) -> list[list[bool]]:
    """The QR code of ``text`` as rows of dark (True) modules, top row first, with a light border."""
    code = segno.make(text, error="m", micro=False)
    return [[bool(bit) for bit in row] for row in code.matrix_iter(scale=1, border=border)]


def qr_rgba(modules: list[list[bool]]) -> bytes:
    """The modules as RGBA bytes for a texture, bottom row first (textures start at the bottom)."""
    dark, light = b"\x00\x00\x00\xff", b"\xff\xff\xff\xff"
    return b"".join(dark if bit else light for row in reversed(modules) for bit in row)


class QrCode(Image):  # type: ignore[misc]
    """``data`` as a QR code, as large as its box allows, square ('' shows nothing)."""

    data = StringProperty("")

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("fit_mode", "contain")
        super().__init__(**kwargs)
        self.bind(data=self._make)
        self._make()

    def _make(self, *_: Any) -> None:
        if not self.data:
            self.texture = None
            self.opacity = 0
            return
        modules = qr_modules(self.data)
        side = len(modules)
        texture = Texture.create(size=(side, side), colorfmt="rgba")
        texture.mag_filter = "nearest"
        texture.min_filter = "nearest"
        texture.blit_buffer(qr_rgba(modules), colorfmt="rgba", bufferfmt="ubyte")
        self.texture = texture
        self.opacity = 1


class NearbyMap(Widget):  # type: ignore[misc]
    """This station at the centre, the others placed by their bearing and distance, labelled with charged counts.

    ``points`` come from :func:`kiosk.ui.rider_views.map_points`; ``labels`` has one text per point.
    """

    points = ListProperty([])
    labels = ListProperty([])
    min_font = NumericProperty(12)
    """Least label size (px): the layout sets the app's least text size, so a label is never smaller than a word
    elsewhere on the screen."""
    label_font = 0.0
    """The labels' size at the last drawing (for the tests)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._redraw = Clock.create_trigger(self.redraw, -1)
        self.bind(pos=self._redraw, size=self._redraw, points=self._redraw, labels=self._redraw)
        self.bind(min_font=self._redraw)

    def redraw(self, *_: Any) -> None:
        """Draw the panel, the rings, the stations and their labels for the current size."""
        self.canvas.clear()
        x, y = self.pos
        w, h = self.size
        if w < 20 or h < 20 or not self.points:
            return
        side = min(w, h)
        ox, oy = x + (w - side) / 2, y + (h - side) / 2
        dot = max(6.0, side * 0.035)
        with self.canvas:
            Color(*PANEL)
            Rectangle(pos=(ox, oy), size=(side, side))
            Color(0.3, 0.36, 0.46, 1)
            for ring in (0.19, 0.38):
                Line(circle=(ox + side / 2, oy + side / 2, side * ring), width=1)
            for index, point in enumerate(self.points):
                if not isinstance(point, MapPoint):
                    continue
                px, py = ox + point.x * side, oy + point.y * side
                if point.station is None:
                    Color(*TONES["info"])
                elif point.station.charged_batteries > 0:
                    Color(*TONES["good"])
                else:
                    Color(*TONES["warn"])
                Ellipse(pos=(px - dot, py - dot), size=(dot * 2, dot * 2))
                text = self.labels[index] if index < len(self.labels) else ""
                if text:
                    self._label(text, px, py + dot * 1.3, (ox, oy, side))

    def _label(self, text: str, cx: float, bottom: float, box: tuple[float, float, float]) -> None:
        """A label centred above a dot, pushed inside the drawing when it would stick out."""
        ox, oy, side = box
        self.label_font = step_at_most(side * 0.05, float(self.min_font))  # a size of the ladder: few fonts open
        # Wrapped at half the drawing's width so a long name stays inside it at this size.
        label = CoreLabel(text=text, font_size=self.label_font, halign="center", text_size=(side * 0.5, None))
        label.refresh()
        texture = label.texture
        tw, th = texture.size
        lx = min(max(ox, cx - tw / 2), ox + side - tw)
        ly = min(max(oy, bottom), oy + side - th)
        Color(1, 1, 1, 1)
        Rectangle(texture=texture, pos=(lx, ly), size=(tw, th))
