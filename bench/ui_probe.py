"""``kiosk ui ARGS`` with a probe that says when each new screen reached the display (for ``bench/ui.py``).

It wraps the app's ``refresh`` and the window's ``flip`` once Kivy is set up, and prints
``kiosk-ui-probe frame|drawn <core screen number> <screen> <time.monotonic()>`` right after the buffer swap
that first shows a screen. Both processes run on one machine, so the monotonic times compare.

With ``--walk`` first, it also walks the app through every screen once core has been reached and its status read
(:mod:`ui_walk`), and prints ``kiosk-ui-probe walked <steps> idle <time>`` when that is done.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

PROBE = "kiosk-ui-probe"


def _say(kind: str, number: int, screen: str, mono: float) -> None:
    print(f"{PROBE} {kind} {number} {screen or '-'} {mono:.6f}", flush=True)


def _install_probe(walker: Any = None) -> None:
    """Wrap the app's ``refresh`` and ``build`` (the window's ``flip``); runs after Kivy is set up."""
    from kiosk.ui.app import KioskApp

    pending: list[tuple[int, str]] = []
    first = [True]
    real_build = KioskApp.build
    real_refresh = KioskApp.refresh

    def shown(app: KioskApp) -> tuple[Any, str | None]:
        manager = app.root.ids.manager.current if app.root is not None else None
        return app.current, manager

    walking: list[object] = []

    def refresh(app: KioskApp) -> None:
        before = shown(app)
        real_refresh(app)
        if walker is not None and not walking and app.linked and app.status is not None:
            walking.append(walker(app, _say))  # ui_walk.Walk, once core is reached and its status read
            walking[0].start()  # type: ignore[attr-defined]
        if shown(app) != before:
            number = app.core_screen.number if app.core_screen is not None else 0
            pending[:] = [(number, app.current.screen.value)]

    def build(app: KioskApp) -> Any:
        root = real_build(app)
        from kivy.core.window import Window

        real_flip = Window.flip

        def flip() -> None:
            real_flip()  # the buffer swap: with software GL this is where the frame is rasterised and shown
            now = time.monotonic()
            if first[0]:
                first[0] = False
                _say("frame", 0, "", now)
            if pending:
                number, screen = pending.pop()
                _say("drawn", number, screen, now)

        Window.flip = flip
        return root

    KioskApp.refresh = refresh  # type: ignore[method-assign,assignment]
    KioskApp.build = build  # type: ignore[method-assign,assignment]


def run_probed_ui(argv: list[str]) -> int:
    """``kiosk ui ARGV`` with the probe installed right after ``kiosk.ui.bootstrap.prepare`` (Kivy set up)."""
    import kiosk.ui.bootstrap as bootstrap
    from kiosk.cli.main import main as kiosk_main
    from kiosk.ui.settings import UiSettings

    here = Path(__file__).resolve().parent
    # Run as a script, this folder is first on sys.path and its bench modules would shadow packages (hub);
    # the walk is imported by its path instead.
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]
    walker: Any = None
    if argv and argv[0] == "--walk":
        argv = argv[1:]
        import importlib.util

        spec = importlib.util.spec_from_file_location("ui_walk", here / "ui_walk.py")
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["ui_walk"] = module
        spec.loader.exec_module(module)
        walker = module.Walk
    real_prepare = bootstrap.prepare

    def prepare(settings: UiSettings) -> None:
        real_prepare(settings)
        _install_probe(walker)

    bootstrap.prepare = prepare  # kiosk.ui.main imports it when it runs, so it gets this one
    return kiosk_main(["ui", *argv])


if __name__ == "__main__":
    sys.exit(run_probed_ui(sys.argv[1:]))
