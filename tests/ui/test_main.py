"""``kiosk ui`` as its own process: Kivy set up before import, the window opened, core followed (or not)."""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
from importlib import resources
from pathlib import Path
from typing import Any

from tests.support import wait_until

RUN_MAIN = "import sys; from kiosk.ui.main import main; sys.exit(main(sys.argv[1:]))"


def config_file(tmp_path: Path) -> Path:
    """The ``kiosk sim`` config with its data and token file under ``tmp_path``, core on a closed port."""
    text = resources.files("kiosk.sim").joinpath("sim.toml").read_text(encoding="utf-8")
    text = text.replace('timezone = "Asia/Shanghai"', f'timezone = "Asia/Shanghai"\ndata_dir = "{tmp_path}"')
    text = text.replace("port = 8080", f'port = 9\nui_token_file = "{tmp_path / "ui-token"}"')
    path = tmp_path / "kiosk.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_missing_font_stops_kiosk_ui_with_a_clear_message(tmp_path: Path) -> None:
    env = {**os.environ, "KIOSK_UI_FONT": str(tmp_path / "no-such-font.ttc")}
    done = subprocess.run(
        [sys.executable, "-c", RUN_MAIN, "--config", str(config_file(tmp_path)), "--window", "800x480"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "fonts-wqy-microhei" in done.stderr


def test_kiosk_ui_opens_its_window_and_keeps_trying_to_reach_core(window: Any, tmp_path: Path) -> None:
    (tmp_path / "ui-token").write_text("x" * 32)
    proc = subprocess.Popen(
        [sys.executable, "-c", RUN_MAIN, "--config", str(config_file(tmp_path)), "--window", "800x480"],
        env=dict(os.environ),  # DISPLAY: the tests' Xvfb
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        for line in proc.stderr or []:
            lines.put(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    seen: list[str] = []

    def heard(text: str) -> bool:
        while not lines.empty():
            seen.append(lines.get())
        return any(text in line for line in seen)

    try:
        wait_until(lambda: heard("Window: Provider: sdl2"), 30, "the window opening")
        wait_until(lambda: heard("kiosk-core unreachable at http://127.0.0.1:9"), 30, "the link reported down")
        assert proc.poll() is None
    finally:
        proc.terminate()
        proc.wait(10)
