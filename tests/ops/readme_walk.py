"""Walk a README as a newcomer would: every command of its ``sh`` blocks, in order, in a fresh home folder.

What the README says about a block is an HTML comment on the line right above it (invisible on GitHub):

- ``<!-- readme-test: skip: REASON -->`` — the block is not run (it installs with apt, needs root...).
- ``<!-- readme-test: background; ready when URL answers -->`` — each command stays running in the background
  (a server the reader starts in a terminal of its own); the walk goes on once ``URL`` answers 200.
  ``ready when it prints "TEXT"`` waits for its output instead; ``stop the earlier "COMMAND" first`` first
  interrupts (Ctrl+C) the background command that starts with ``COMMAND`` and expects it to end cleanly.
- No comment: each command runs to its end and must succeed. A line ``# → TEXT`` after a command says what its
  output contains; a command whose output does not contain it yet is run again (a reader looking again) until
  it does, within a bound — so such commands must be safe to repeat.

The walk runs each command with ``bash -c`` in a folder that looks like a fresh clone (links to this checkout's
files), with ``HOME`` in a temporary folder and no display. Variables the README ``export``s carry over from
one command to the next. Where the README names the default ports, free ones are used instead:
``127.0.0.1:8080`` / ``127.0.0.1:8800`` in any command, ``--port`` added to ``kiosk sim`` / ``kiosk-hub serve``.
``bash scripts/sim ARGS`` runs ``kiosk sim ARGS``: it is what the script runs once its installation is done
(that part needs apt and its own virtual environment, which a test must not make).
"""

from __future__ import annotations

import re
import shlex
import socket
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import requests

from tests.ops.processes import ROOT, Background, kiosk_env
from tests.support import wait_until

MARKER = re.compile(r"^<!--\s*readme-test:\s*(?P<what>.*?)\s*-->$")
EXPECT = re.compile(r"^#\s*→\s*(?P<text>.+)$")
READY_URL = re.compile(r"^ready when (?P<url>\S+) answers$")
READY_TEXT = re.compile(r'^ready when it prints "(?P<text>[^"]+)"$')
STOP_FIRST = re.compile(r'^stop the earlier "(?P<command>[^"]+)" first$')
EXPORT = re.compile(r"\bexport\s+(?P<name>[A-Za-z_][A-Za-z0-9_]*)=")
CLONE_ENTRIES = ("README.md", "pyproject.toml", "kiosk", "hub", "docs", "scripts", "systemd", "bench")
"""What a fresh clone has that the README's commands may name (links, so nothing is copied)."""
COMMAND_TIMEOUT_S = 60.0
EXPECT_TIMEOUT_S = 15.0
READY_TIMEOUT_S = 45.0


class ReadmeError(AssertionError):
    """A README that cannot be walked (an unknown marker) or a step of it that failed."""


@dataclass
class Step:
    """One command of a block, with what its output must contain."""

    line: int
    command: str
    expect: list[str] = field(default_factory=list)


@dataclass
class Block:
    """One ``sh`` block and what the comment above it says."""

    line: int
    steps: list[Step]
    skip: str | None = None
    background: bool = False
    ready_url: str | None = None
    ready_text: str | None = None
    stop_first: str | None = None


def _options(block: Block, what: str, line: int) -> None:
    if what.startswith("skip:"):
        block.skip = what.removeprefix("skip:").strip() or "no reason given"
        return
    for option in (part.strip() for part in what.split(";")):
        if option == "background":
            block.background = True
        elif match := READY_URL.match(option):
            block.ready_url = match["url"]
        elif match := READY_TEXT.match(option):
            block.ready_text = match["text"]
        elif match := STOP_FIRST.match(option):
            block.stop_first = match["command"]
        else:
            raise ReadmeError(f"README line {line}: unknown readme-test option {option!r}")
    if not block.background:
        raise ReadmeError(f"README line {line}: 'ready when' and 'stop' need 'background'")


def parse_readme(text: str) -> list[Block]:
    """The ``sh`` blocks of a README, in order, with their markers and expectations."""
    blocks: list[Block] = []
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        stripped = lines[index].strip()
        if stripped.startswith("```") and stripped != "```sh":  # another language: skipped whole
            index += 1
            while index < len(lines) and lines[index].strip() != "```":
                index += 1
            index += 1
            continue
        if stripped != "```sh":
            index += 1
            continue
        block = Block(line=index + 1, steps=[])
        marker = MARKER.match(lines[index - 1].strip()) if index > 0 else None
        if marker:
            _options(block, marker["what"], index)
        index += 1
        while index < len(lines) and lines[index].strip() != "```":
            raw = lines[index].strip()
            if expect := EXPECT.match(raw):
                if not block.steps:
                    raise ReadmeError(f"README line {index + 1}: an expectation before any command")
                block.steps[-1].expect.append(expect["text"].strip())
            elif raw and not raw.startswith("#"):
                block.steps.append(Step(line=index + 1, command=raw))
            index += 1
        if index >= len(lines):
            raise ReadmeError(f"README line {block.line}: the sh block never ends")
        blocks.append(block)
        index += 1
    return blocks


def free_port() -> int:
    """A TCP port free on loopback now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Ports:
    """The free ports standing in for the README's defaults."""

    station: int
    hub: int

    def rewrite(self, command: str) -> str:
        """``command`` as the walk runs it (see the module's docstring)."""
        try:
            words = shlex.split(command, comments=True)
        except ValueError:  # unbalanced quotes: bash will say so when it runs
            words = command.split()
        if command.startswith("bash scripts/sim"):
            command = "kiosk sim" + command.removeprefix("bash scripts/sim")
            words = ["kiosk", "sim", *words[2:]]
        if words[:2] == ["kiosk", "sim"] and "--port" not in words:
            command = _before_comment(command, f" --port {self.station}")
        if words[:2] == ["kiosk-hub", "serve"] and "--port" not in words:
            command = _before_comment(command, f" --port {self.hub}")
        return command.replace("127.0.0.1:8080", f"127.0.0.1:{self.station}").replace(
            "127.0.0.1:8800", f"127.0.0.1:{self.hub}"
        )


def _before_comment(command: str, extra: str) -> str:
    head, sep, comment = command.partition("  #")
    return head.rstrip() + extra + (f"  #{comment}" if sep else "")


class Walk:
    """The README's commands run in order, servers kept in the background until :meth:`close`."""

    def __init__(self, tmp_path: Path, root: Path = ROOT) -> None:
        self.home = tmp_path / "home"
        self.home.mkdir()
        self.clone = tmp_path / "station-kiosk"
        self.clone.mkdir()
        for name in CLONE_ENTRIES:
            if (root / name).exists():
                (self.clone / name).symlink_to(root / name)
        self.env_file = tmp_path / "exported.sh"
        self.env_file.write_text("")
        self.exported: list[str] = []
        self.ports = Ports(free_port(), free_port())
        self.env = kiosk_env(
            HOME=str(self.home), KIOSK_SIM_DIR=None, KIOSK_HUB_DB=None, DISPLAY=None, WAYLAND_DISPLAY=None
        )
        self.background: list[tuple[str, Background]] = []
        self.ran: list[str] = []
        """Every command run (as written in the README), in order."""

    def _script(self, command: str, *, exec_it: bool = False) -> str:
        """The bash script of one command: the exported variables in, the command, the variables out."""
        env_file = shlex.quote(str(self.env_file))
        if exec_it:  # a server: exec, so that Ctrl+C (SIGINT) reaches it and not a shell
            return f"set -eo pipefail\nsource {env_file}\nexec {command}\n"
        keep = f"declare -p {' '.join(self.exported)} > {env_file}\n" if self.exported else ""
        return f"set -eo pipefail\nsource {env_file}\n{command}\n{keep}"

    def run(self, blocks: Sequence[Block]) -> None:
        """Walk every block; ``ReadmeError`` naming the README line of the first step that fails."""
        for block in blocks:
            if block.skip is not None:
                continue
            if block.stop_first is not None:
                self._stop(block)
            for step in block.steps:
                for name in EXPORT.findall(step.command):
                    if name not in self.exported:
                        self.exported.append(name)
                if block.background:
                    self._start(block, step)
                else:
                    self._step(step)
                self.ran.append(step.command)

    def _step(self, step: Step) -> None:
        command = self.ports.rewrite(step.command)

        def attempt() -> subprocess.CompletedProcess[str]:
            try:
                result = subprocess.run(
                    ["bash", "-c", self._script(command)],
                    cwd=self.clone,
                    env=self.env,
                    capture_output=True,
                    text=True,
                    timeout=COMMAND_TIMEOUT_S,
                )
            except subprocess.TimeoutExpired as exc:
                raise ReadmeError(f"README line {step.line}: `{step.command}` did not end in {exc.timeout} s") from None
            if result.returncode != 0:
                raise ReadmeError(
                    f"README line {step.line}: `{step.command}` failed (exit {result.returncode}):\n"
                    f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
                )
            return result

        outcome = attempt()
        if not step.expect:
            return
        last = [outcome]

        def shows_all() -> bool:
            text = last[-1].stdout + last[-1].stderr
            if all(expected in text for expected in step.expect):
                return True
            last.append(attempt())
            return False

        try:
            wait_until(shows_all, EXPECT_TIMEOUT_S, f"README line {step.line}'s output")
        except ReadmeError:
            raise
        except AssertionError:
            seen = last[-1].stdout[-2000:] + last[-1].stderr[-2000:]
            raise ReadmeError(
                f"README line {step.line}: `{step.command}` never printed {step.expect}; it printed:\n{seen}"
            ) from None

    def _start(self, block: Block, step: Step) -> None:
        command = self.ports.rewrite(step.command)
        proc = Background(["bash", "-c", self._script(command, exec_it=True)], self.env, cwd=self.clone)
        self.background.append((step.command, proc))
        what = f"README line {step.line}: `{step.command}`"
        if block.ready_text is not None:
            try:
                proc.wait_for(re.escape(block.ready_text), READY_TIMEOUT_S)
            except AssertionError as exc:
                raise ReadmeError(f"{what} never printed {block.ready_text!r}: {exc}") from None
        if block.ready_url is not None:
            url = self.ports.rewrite(block.ready_url)

            def answers() -> bool:
                if proc.proc.poll() is not None:
                    raise ReadmeError(f"{what} ended (exit {proc.proc.returncode}):\n{proc.text()[-4000:]}")
                try:
                    return requests.get(url, timeout=2).status_code == 200
                except requests.RequestException:
                    return False

            try:
                wait_until(answers, READY_TIMEOUT_S, f"{url} answering")
            except ReadmeError:
                raise
            except AssertionError:
                raise ReadmeError(f"{what}: {url} never answered:\n{proc.text()[-4000:]}") from None

    def _stop(self, block: Block) -> None:
        prefix = block.stop_first or ""
        found = [(cmd, proc) for cmd, proc in self.background if cmd.startswith(prefix) and proc.proc.poll() is None]
        if not found:
            raise ReadmeError(f"README line {block.line}: nothing started with {prefix!r} runs to be stopped")
        for command, proc in found:
            code = proc.interrupt()
            if code != 0:
                raise ReadmeError(f"`{command}` did not stop cleanly on Ctrl+C (exit {code}):\n{proc.text()[-4000:]}")

    def close(self) -> None:
        """Ctrl+C every background command still running, newest first."""
        for _command, proc in reversed(self.background):
            proc.interrupt()


def walk(tmp_path: Path, text: str) -> Iterator[Walk]:
    """A fixture body: walk ``text`` and hand the walk over, its servers stopped afterwards."""
    runner = Walk(tmp_path)
    try:
        runner.run(parse_readme(text))
        yield runner
    finally:
        runner.close()
