"""The font sizes the touchscreen draws text at: a ladder of steps, not every pixel size.

Kivy's SDL2 text renderer opens the font file once per size (and style) and keeps up to 64 of them open, about
0.3 MB each for the Chinese font. Fitting every label to the exact pixel that fits (:func:`kiosk.ui.widgets.fit_font`)
used some 80 sizes across the screens; on this ladder, with steps of about 12 %, they are about 20.
"""

from __future__ import annotations

STEP = 1.12
FONT_SIZES: tuple[int, ...] = tuple(sorted({round(8 * STEP**k) for k in range(34)}))
"""8 px to about 300 px, each about 12 % above the one before."""


def ladder(low: float, high: float) -> list[float]:
    """The sizes a label may take between ``low`` and ``high``, smallest first; ``low`` itself always comes first
    (the least size is a promise that text is never smaller, so it is kept even off the ladder)."""
    steps = [float(s) for s in FONT_SIZES if low < s <= high]
    return [float(low), *steps]


def step_at_most(size: float, least: float) -> float:
    """The largest ladder size not above ``size``, but never below ``least``."""
    below = [float(s) for s in FONT_SIZES if least <= s <= size]
    return below[-1] if below else float(least)
