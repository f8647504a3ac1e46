"""Commands run as a user runs them, in the background: their output read as it comes, waited on with a bound."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

from tests.support import wait_until

ROOT = Path(__file__).resolve().parents[2]


def kiosk_env(**changes: str | None) -> dict[str, str]:
    """The environment of a ``kiosk`` command: this checkout first on the path; ``None`` removes a variable."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    env["PATH"] = os.pathsep.join((str(Path(sys.executable).parent), env.get("PATH", "")))
    for name, value in changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


class Background:
    """A command in the background whose standard output and error are collected line by line."""

    def __init__(self, argv: Sequence[str], env: Mapping[str, str], cwd: Path | None = None) -> None:
        self.argv = list(argv)
        self.proc = subprocess.Popen(
            self.argv,
            env=dict(env),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._lock = threading.Lock()
        self.out: list[str] = []
        self.err: list[str] = []
        self._readers = [
            threading.Thread(target=self._read, args=(self.proc.stdout, self.out), daemon=True),
            threading.Thread(target=self._read, args=(self.proc.stderr, self.err), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def _read(self, stream: object, into: list[str]) -> None:
        for line in stream:  # type: ignore[attr-defined]
            with self._lock:
                into.append(line.rstrip("\n"))

    def text(self) -> str:
        """Everything written so far, output then errors."""
        with self._lock:
            return "\n".join([*self.out, "--- stderr ---", *self.err])

    def wait_for(self, pattern: str, timeout: float, *, stream: str = "out") -> re.Match[str]:
        """The first line of ``stream`` ('out' or 'err') matching ``pattern``; fails after ``timeout`` s."""
        compiled = re.compile(pattern)

        def found() -> re.Match[str] | None:
            with self._lock:
                lines = list(self.out if stream == "out" else self.err)
            for line in lines:
                match = compiled.search(line)
                if match:
                    return match
            if self.proc.poll() is not None:
                ended = f"{self.argv[:4]} ended ({self.proc.returncode})"
                raise AssertionError(f"{ended} before {pattern!r}:\n{self.text()}")
            return None

        try:
            match = wait_until(found, timeout, f"{pattern!r} from {' '.join(self.argv[:4])}")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{self.text()}") from None
        assert match is not None
        return match

    def interrupt(self, timeout: float = 20.0) -> int:
        """Ctrl+C: SIGINT, then the exit code (killed after ``timeout``)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            return self.proc.wait(timeout=timeout)
        finally:
            self.close()

    def close(self) -> None:
        """Make sure it is gone."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for reader in self._readers:
            reader.join(timeout=5)


def kiosk_sim(data_dir: Path, *args: str, env: Mapping[str, str] | None = None) -> Background:
    """``kiosk sim`` on a free port with ``data_dir``, started; its banner read up to "Press Ctrl+C"."""
    argv = [sys.executable, "-m", "kiosk.cli.main", "sim", "--port", "0", "--data-dir", str(data_dir), *args]
    sim = Background(argv, env if env is not None else kiosk_env())
    sim.wait_for(r"Press Ctrl\+C", 60)
    return sim


def api_url(sim: Background) -> str:
    """The simulator's API address, from its banner."""
    return sim.wait_for(r"Local API\s+: (http://\S+)/api/status", 1).group(1)


def processes_naming(text: str) -> list[int]:
    """Pids of this machine's processes whose command line contains ``text`` (a test's unique temp path)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # ended meanwhile, or not ours to read
            continue
        if text in cmdline:
            found.append(int(entry.name))
    return found
