"""What a running ``kiosk sim`` leaves for the commands that come after it, and its touchscreen window.

- ``kiosk ui`` without a config finds the running simulator through the file it leaves in its data folder
  (:mod:`kiosk.sim.running`), checked to answer (:func:`answering_sim`).
- The touchscreen app beside the simulator: in a window on this machine's display, or on a virtual display
  (Xvfb) that a VNC server can show elsewhere (:class:`UiMode`, :func:`start_xvfb`).
"""

from __future__ import annotations

import enum
import importlib.util
import os
import subprocess
import sys
import threading
from pathlib import Path

from kiosk.core.errors import KioskError
from kiosk.sim.running import SIM_DIR_ENV, RunningSim, find_running_sim, sim_dir

UI_WINDOW = "800x480"
"""The Pi 7" display's size: the window the simulator opens."""


class UiMode(enum.Enum):
    """Where ``kiosk sim`` shows the touchscreen app (``--ui``)."""

    AUTO = "auto"
    """In a window when this session has a display; otherwise say how to see it."""
    WINDOW = "window"
    """In a window on this session's display ($DISPLAY or $WAYLAND_DISPLAY); an error without one."""
    XVFB = "xvfb"
    """On a virtual display of its own (Xvfb), to be watched through VNC or screenshots."""
    OFF = "off"
    """Not at all."""


def has_display(env: dict[str, str] | None = None) -> bool:
    """Whether a window can open in this session (an X or Wayland display is named)."""
    values = os.environ if env is None else env
    return bool(values.get("DISPLAY") or values.get("WAYLAND_DISPLAY"))


def answering_sim(folder: Path | None = None, timeout_s: float = 3.0) -> RunningSim:
    """The simulated station running from ``folder`` (default ``$KIOSK_SIM_DIR`` or ``~/.local/state/kiosk-sim``),
    checked to answer; ``KioskError`` in plain words when none does."""
    import requests

    folder = folder or sim_dir()
    sim = find_running_sim(folder)
    if sim is None:
        raise KioskError(
            f"no simulated station is running from {folder}: start one with 'kiosk sim' (one started with"
            f" --data-dir DIR is found with {SIM_DIR_ENV}=DIR), or give the station's --config"
        )
    try:
        healthy = requests.get(f"{sim.url}/api/health", timeout=timeout_s).status_code == 200
    except requests.RequestException:
        healthy = False
    if not healthy:
        raise KioskError(
            f"the simulated station running from {folder} (process {sim.pid}) is not answering at {sim.url};"
            " restart it with 'kiosk sim'"
        )
    return sim


def start_xvfb(size: str = UI_WINDOW) -> tuple[subprocess.Popen[bytes], str]:
    """A virtual X display of ``size`` on a display number Xvfb picks itself (``-displayfd``): (process, ":N")."""
    read_fd, write_fd = os.pipe()
    try:
        proc = subprocess.Popen(  # noqa: S603 - a fixed program, no shell
            ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", f"{size}x24", "-nolisten", "tcp", "-noreset"],  # noqa: S607
            pass_fds=(write_fd,),
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    except FileNotFoundError:
        os.close(read_fd)
        raise KioskError("Xvfb is not installed (sudo apt install xvfb)") from None
    finally:
        os.close(write_fd)
    with os.fdopen(read_fd) as pipe:
        number = pipe.readline().strip()  # Xvfb writes it once its display accepts clients, or exits
    if not number:
        proc.kill()
        proc.wait()
        raise KioskError("Xvfb did not start a virtual display")
    return proc, f":{number}"


def watch_hint(display: str) -> str:
    """How to see the touchscreen app on a virtual display from a desktop or a phone."""
    return (
        f"to watch it: x11vnc -display {display} -localhost -nopw -forever (sudo apt install x11vnc), then a VNC"
        " viewer on 127.0.0.1:5900 (from another machine: ssh -L 5900:127.0.0.1:5900 first)"
    )


class SimTouchscreen:
    """The touchscreen app beside ``kiosk sim``: started once core answers, ended with it.

    It is the production ``kiosk ui`` in its own process, a client of the simulator's API like on a Pi.
    """

    def __init__(self, mode: UiMode, config_file: Path, token_file: Path) -> None:
        self.mode = mode
        self.config_file = config_file
        self.token_file = token_file
        self.process: subprocess.Popen[bytes] | None = None
        self.xvfb: subprocess.Popen[bytes] | None = None
        self._closing = threading.Event()

    def check(self) -> None:
        """Refuse, before anything starts, a ``--ui`` that cannot be honoured."""
        if self.mode in (UiMode.WINDOW, UiMode.XVFB) and importlib.util.find_spec("kivy") is None:
            raise KioskError("the touchscreen app needs the ui extra: pip install -e '.[ui]' (bash scripts/sim does)")
        if self.mode is UiMode.WINDOW and not has_display():
            raise KioskError(
                "--ui window needs a display ($DISPLAY or $WAYLAND_DISPLAY); --ui xvfb makes a virtual one"
            )

    def command(self, api_url: str) -> list[str]:
        """The ``kiosk ui`` command line for the simulator at ``api_url``."""
        return [
            sys.executable,
            "-m",
            "kiosk.cli.main",
            "ui",
            "--config",
            str(self.config_file),
            "--api-url",
            api_url,
            "--token-file",
            str(self.token_file),
            "--window",
            UI_WINDOW,
            "--mouse",
        ]

    def start(self, api_url: str) -> str:
        """Start the app where ``mode`` says (if it can); the line that tells the user where it is."""
        if self.mode is UiMode.OFF:
            return "Touchscreen app: not started (--ui off); 'kiosk ui' starts it against this simulator"
        if importlib.util.find_spec("kivy") is None:
            return (
                "Touchscreen app: not available, the ui extra is not installed"
                " (bash scripts/sim installs it; or pip install -e '.[ui]')"
            )
        env = dict(os.environ)
        if self.mode is UiMode.XVFB:
            self.xvfb, display = start_xvfb()
            env["DISPLAY"] = display
            env.pop("WAYLAND_DISPLAY", None)
            where = f"on the virtual display {display} (Xvfb, {UI_WINDOW}); {watch_hint(display)}"
        elif has_display():
            where = f"opened in a window ({UI_WINDOW}; the mouse stands for a finger)"
        else:
            return (
                "Touchscreen app: not shown, this session has no display; 'kiosk sim --ui xvfb' runs it on a"
                " virtual display to watch through VNC, or run 'kiosk ui' in a desktop session of this machine"
            )
        # A session of its own: Ctrl+C in the terminal reaches the simulator alone, which then ends the app.
        self.process = subprocess.Popen(self.command(api_url), env=env, start_new_session=True)  # noqa: S603
        threading.Thread(target=self._watch, args=(self.process,), name="sim-ui-watch", daemon=True).start()
        return f"Touchscreen app: {where}"

    def _watch(self, process: subprocess.Popen[bytes]) -> None:
        code = process.wait()
        if not self._closing.is_set():
            print(
                f"kiosk sim: the touchscreen app ended (exit {code}; its messages are above); the station runs on,"
                " and 'kiosk ui' starts the app again",
                file=sys.stderr,
                flush=True,
            )

    def close(self) -> None:
        """End the app and its virtual display (safe to call twice)."""
        self._closing.set()
        for proc in (self.process, self.xvfb):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
