"""The harness of the swap crash test (tests/test_swap_crash.py): the served cabinet, the station
zygote, scripted riders and staff, and what a run collects.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kiosk.core.clock import SystemClock
from kiosk.devices.sim.serve import ControlClient
from kiosk.sim.codes import SimCodeIssuer
from kiosk.station.swap_record import SwapState
from tests.crash_station import POLICY, write_settings
from tests.support import ZygotePipe

CHILD = Path(__file__).with_name("crash_station.py")
KILLS = int(os.environ.get("KIOSK_SWAP_CRASH_KILLS", "200"))
BAYS = 12
CHARGE_PCT_PER_S = 40.0
"""Returned batteries charge in about two seconds, so charged ones never run out."""
LINE_WAIT_S = 0.005
LIFE_TIMEOUT_S = 20.0
SCAN_RETRY_S = 1.5
"""A scan the station never answered (lost in a kill) is made again after this long."""
BUDGET_S = 240.0

NETWORK_ID = re.compile(POLICY["battery_id_pattern"])
IN_FLIGHT = [s.value for s in SwapState if s is not SwapState.ENDED]
AWAIT = {"await_return", "await_take_back", "await_collect"}
ROLE_STATE = {
    "swap.bay_unlocking": {"return": "opening_return", "take_back": "rejecting_return", "charged": "opening_charged"},
    "swap.bay_opened": {"return": "await_return", "take_back": "await_take_back", "charged": "await_collect"},
    "swap.door_closed": {"return": "reading_return", "take_back": "reading_take_back", "charged": "reading_collect"},
}
PROFILES = {"normal": 64, "foreign": 12, "empty": 8, "leaves": 10, "walks_away": 6}
"""What riders do: swap; bring a battery of another network; close the bay with nothing in it; leave
without the charged battery; walk away from the open return bay."""
PROFILE_FOR = {
    "rejecting_return": "foreign",
    "await_take_back": "foreign",
    "reading_take_back": "foreign",
    "return_empty": "empty",
}
"""The rider that brings a swap into a state the normal rider never reaches."""


def entered_state(event: dict[str, Any]) -> str | None:
    """The swap state a committed event puts its swap in (None: not a state change of a swap)."""
    kind, payload = event["type"], event["p"]
    if kind in ROLE_STATE:
        return ROLE_STATE[kind][payload["role"]]
    if kind == "swap.no_battery":
        return "return_empty"
    if kind == "swap.recovered" and payload["to_state"] != "ended":
        return str(payload["to_state"])
    return None


class Zygote:
    """The parent's side of ``crash_station.py zygote``: start station lives, read their lines."""

    def __init__(self) -> None:
        self.pipe = ZygotePipe(CHILD)

    def run(self, settings: Path, boot_id: str) -> None:
        """Ask for a new station life."""
        self.pipe.send(f"run {settings} {boot_id}")

    def read(self, wait_s: float) -> list[dict[str, Any]]:
        """The lines that arrive within ``wait_s`` (all that are there if some already are)."""
        if b"\n" not in self.pipe.buffer:
            self.pipe.fill(wait_s)
        *lines, self.pipe.buffer = self.pipe.buffer.split(b"\n")
        return [json.loads(line) for line in lines]

    def close(self) -> None:
        """End the zygote and reap it."""
        self.pipe.close()


class CabinetProcess:
    """``python -m kiosk.devices.sim.serve`` in its own process, and a control connection to it."""

    def __init__(self, workdir: Path) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable, "-m", "kiosk.devices.sim.serve", "--kind", "kerong", "--workdir", str(workdir),
                "--bays", str(BAYS), "--seed", "3", "--charge", str(CHARGE_PCT_PER_S), "--until-eof",
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )  # fmt: skip
        assert self.proc.stdout is not None
        ready = json.loads(self.proc.stdout.readline() or b"{}")
        assert ready.get("ready"), "the served cabinet did not start"
        self.hardware = Path(ready["hardware"])
        self.control = ControlClient(Path(ready["control"]))

    def call(self, op: str, **fields: Any) -> Any:
        """One control request."""
        return self.control.call(op, **fields)

    def close(self) -> None:
        """Stop it (end of its input) and reap it."""
        self.control.close()
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=10)


@dataclass
class Task:
    """What the rider does for the screen in front of them: steps done one per turn."""

    name: str
    bay: int
    swap_id: str | None
    steps: list[str]
    done: list[str] = field(default_factory=list)


@dataclass
class Take:
    """A battery the script's hands took out of the cabinet."""

    battery_id: str
    bay: int
    swap_id: str | None
    kind: str
    """``charged`` (the rider's new battery), ``take_back`` (their own given back) or ``staff``."""


@dataclass
class Life:
    """One station process."""

    number: int
    pid: int | None = None
    started: bool = False
    """Its ``station.started`` event came: recovery is done and it listens to the cabinet."""
    batteries_seen: set[int] = field(default_factory=set)
    """Bays whose battery it has read: a scan before the first full read would be refused for want of one."""
    batteries: dict[int, str | None] = field(default_factory=dict)
    """What it last reported in each bay."""
    doors: dict[int, str] = field(default_factory=dict)
    """Each bay's door as it last reported a change."""
    ticks: int = 0
    kill_at: int | None = None
    target: str | None = None
    target_hit_at: int | None = None
    killed: bool = False
    exit_code: int | None = None
    pending_ack_screen: bool = False
    """A recovery resumed a swap whose door is open: the next screen's bay counts as seen open."""
    ready_at: float | None = None

    @property
    def ready(self) -> bool:
        """Started and has read every bay's battery: a rider may scan."""
        return self.started and len(self.batteries_seen) == BAYS


class Crash:
    """The riders, the staff and the killer, with their ledger of the physical world."""

    def __init__(self, tmp: Path, cabinet: CabinetProcess, zygote: Zygote, rng: random.Random) -> None:
        self.cabinet = cabinet
        self.zygote = zygote
        self.rng = rng
        self.data = tmp / "station"
        self.db_path = self.data / "station.db"
        self.codes = SimCodeIssuer(tmp / "codes", SystemClock())
        self.settings = tmp / "settings.json"
        write_settings(
            self.settings, data_dir=self.data, hardware_file=cabinet.hardware, keyset_file=self.codes.keyset_file
        )
        self.initial = {int(b): i for b, i in cabinet.call("batteries").items()}
        self.inserted: dict[str, str | None] = {}
        self.takes: list[Take] = []
        self.riders: dict[str, str] = {}
        self.reported: dict[int, str] = {}
        self.kills: Counter[str] = Counter()
        self.boot_id = str(uuid.uuid4())
        self.boots = 1
        self.ack: dict[int, bool] = {}
        self.task: Task | None = None
        self.passer_by = False
        self.scan: tuple[str, float, int] | None = None
        self.next_rider = 0
        self.target: str | None = None
        self.life = Life(0)
        self.closing = False
        """The last life: no new riders, only what is in flight is finished."""
        self.repaired = 0
        self._db: sqlite3.Connection | None = None

    # --- the database, read as the station left it -------------------------------------------

    def query(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        """Rows of a read-only query on the station's database ([] before it exists)."""
        if self._db is None:
            if not self.db_path.exists():
                return []
            self._db = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=5.0)
        return list(self._db.execute(sql, args))

    def in_flight(self) -> tuple[str, str, str] | None:
        """(swap id, rider id, state) of the swap the station has in flight, if any."""
        rows = self.query("SELECT id, rider_id, state FROM swaps WHERE outcome IS NULL")
        assert len(rows) <= 1, f"more than one swap in flight: {rows}"
        return (str(rows[0][0]), str(rows[0][1]), str(rows[0][2])) if rows else None

    def close(self) -> None:
        """Kill a station life still running (a failed run), then close the read-only connection."""
        life = self.life
        if life.pid is not None and life.exit_code is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(life.pid, signal.SIGKILL)
            deadline = time.monotonic() + 5.0
            while life.exit_code is None and time.monotonic() < deadline:
                for line in self.zygote.read(0.1):
                    if line["k"] == "exited":
                        life.exit_code = int(line["code"])
        if self._db is not None:
            self._db.close()

    # --- station lives ----------------------------------------------------------------------------

    def plan_kill(self, life: Life) -> None:
        """Half the lives die after random progress, half right as a swap enters the least-killed state."""
        if self.rng.random() < 0.5:
            life.kill_at = self.rng.randint(1, 24)
            return
        least = min(self.kills[s] for s in IN_FLIGHT)
        life.target = self.rng.choice([s for s in IN_FLIGHT if self.kills[s] == least])
        self.target = life.target

    def run_life(self, *, kill: bool) -> None:
        """One station life: until it is killed (``kill``) or, for the last one, until it stopped cleanly."""
        life = self.life = Life(self.life.number + 1)
        if kill:
            self.plan_kill(life)
        if kill and self.rng.random() < 0.15:  # a power cut: the restart is another boot
            self.boot_id, self.boots = str(uuid.uuid4()), self.boots + 1
        self.closing = not kill
        # What the last station saw dies with it (a line about it may have been lost in the kill).
        self.ack = {}
        self.zygote.run(self.settings, self.boot_id)
        began = time.monotonic()
        deadline = began + LIFE_TIMEOUT_S
        stopping = False
        while life.exit_code is None:
            assert time.monotonic() < deadline, f"life {life.number} made no end in {LIFE_TIMEOUT_S}s"
            for line in self.zygote.read(LINE_WAIT_S):
                self.on_line(life, line)
                self.maybe_kill(life)
            if life.exit_code is not None:
                break
            if self.rider_turn():
                life.ticks += 1
                self.maybe_kill(life)
            if not kill and not stopping and life.ready and self.settled():
                assert life.pid is not None
                os.kill(life.pid, signal.SIGTERM)
                stopping = True
        if kill:
            assert life.exit_code == -signal.SIGKILL, f"life {life.number} ended with {life.exit_code}, not killed"
            state = self.in_flight()
            self.kills["starting" if not life.started else state[2] if state else "idle"] += 1
            if os.environ.get("KIOSK_SWAP_CRASH_DEBUG"):
                print(
                    f"life {life.number}: {time.monotonic() - began:.3f}s ready={life.ready_at} ticks={life.ticks} "
                    f"target={life.target} kill_at={life.kill_at} -> {state}"
                )
            self.repair()
        else:
            assert life.exit_code == 0, f"the last life did not stop cleanly: {life.exit_code}"

    def repair(self) -> None:
        """Staff put bays the station took out of service back in, while no station runs.

        There is no API for it yet; without it a false lock fault would starve the rest of the run of
        bays. The faults themselves are checked by ``test_no_working_bay_is_declared_faulted``.
        """
        if not self.query("SELECT 1 FROM bays_out_of_service"):
            return
        with contextlib.closing(sqlite3.connect(self.db_path, timeout=5.0)) as db, db:
            self.repaired += db.execute("DELETE FROM bays_out_of_service").rowcount

    def maybe_kill(self, life: Life) -> None:
        """Kill the station once its planned moment has come."""
        if life.killed or life.pid is None:
            return
        due = life.kill_at is not None and life.ticks >= life.kill_at
        if life.target is not None:
            due = (life.target_hit_at is not None and life.ticks >= life.target_hit_at) or life.ticks >= 40
        if due:
            os.kill(life.pid, signal.SIGKILL)
            life.killed = True

    def settled(self) -> bool:
        """Nothing in flight, nothing left for the rider to do, every door shut: the last life may stop."""
        if (
            self.scan is not None
            or self.in_flight() is not None
            or self.passer_by
            or (self.task is not None and self.task.steps)
        ):
            return False
        return not any(bay["door"] == "open" for bay in self.cabinet.call("status")["bays"])

    # --- what the station says ------------------------------------------------------------------

    def on_line(self, life: Life, line: dict[str, Any]) -> None:
        """Take in one line of the zygote or the station."""
        kind = line["k"]
        if kind == "started":
            life.pid = int(line["pid"])
        elif kind == "exited":
            life.exit_code = int(line["code"])
        elif kind == "error":
            raise AssertionError(f"the station failed: {line['message']}")
        elif kind == "ev":
            self.on_event(life, line)
        elif kind == "screen":
            self.on_screen(life, line)

    def on_event(self, life: Life, ev: dict[str, Any]) -> None:
        """A committed event: remember it was reported, follow the station's view of the bays."""
        seq, kind, payload = int(ev["seq"]), str(ev["type"]), ev["p"]
        assert self.reported.get(seq, ev["id"]) == ev["id"], f"seq {seq} was reported for two events"
        self.reported[seq] = str(ev["id"])
        if kind == "bay.door_changed":
            life.doors[int(payload["bay"])] = str(payload["door"])
            return
        if kind == "bay.battery_changed":
            life.batteries_seen.add(int(payload["bay"]))
            life.batteries[int(payload["bay"])] = payload["battery_id"] if payload["present"] else None
            if life.ready and life.ready_at is None:
                life.ready_at = time.monotonic()
            return
        if kind == "station.started":
            life.started = True
            life.ticks += 1
            return
        if not kind.startswith(("swap.", "code.")):
            return
        life.ticks += 1
        if kind == "swap.bay_unlocking":
            self.ack[int(payload["bay"])] = False
        elif kind == "swap.bay_opened":
            self.ack[int(payload["bay"])] = True
        elif kind == "swap.recovered" and payload["to_state"] in AWAIT:
            life.pending_ack_screen = True  # the door is open: the screen that follows names it
        if self.scan is not None and (
            (kind in ("swap.started", "swap.refused") and payload["rider_id"] == self.scan[0]) or kind == "code.refused"
        ):
            self.scan = None
        if kind in ("swap.completed", "swap.ended"):
            self.swap_over()
        state = entered_state(ev)
        if state is not None and state == life.target and life.target_hit_at is None:
            life.target_hit_at = life.ticks + self.rng.randint(0, 1)

    def on_screen(self, life: Life, screen: dict[str, Any]) -> None:
        """The rider reads the screen and knows what to do next."""
        name, params = str(screen["name"]), screen["params"]
        if name == "swap.busy":
            self.scan = None
            return
        if name in ("swap.done", "swap.ended", "swap.refused", "code.refused"):
            self.swap_over()
            return
        if name not in ("swap.open_return_bay", "swap.take_charged", "swap.take_back"):
            return
        bay = int(params["bay"])
        # A recovery that found the door open resumed the swap: the bay it now shows counts as seen open.
        seen_open, life.pending_ack_screen = life.pending_ack_screen, False
        flight = self.in_flight()
        swap_id = flight[0] if flight else None
        old = self.task
        if seen_open:
            self.ack[bay] = True
        if old is not None and (old.name, old.bay, old.swap_id) == (name, bay, swap_id):
            return  # the same request again (a restart resumed it): carry on where the rider was
        if old is not None and old.done and "close" in old.steps:
            self.hands("close", old)  # the rider finishes shutting the door they were busy with
        profile = self.riders.get(flight[1], "normal") if flight else "normal"
        self.task = Task(name, bay, swap_id, self.steps(name, profile))

    @staticmethod
    def steps(screen: str, profile: str) -> list[str]:
        """The rider's steps for a screen."""
        if screen == "swap.open_return_bay":
            return {
                "normal": ["ack", "insert", "close"],
                "leaves": ["ack", "insert", "close"],
                "foreign": ["ack", "insert_foreign", "close"],
                "empty": ["ack", "close"],
                "walks_away": [],
            }[profile]
        if screen == "swap.take_charged" and profile == "leaves":
            return ["ack", "close"]
        return ["ack", "take", "close"]

    def swap_over(self) -> None:
        """The swap ended: the rider leaves; a passer-by shuts any door left open."""
        self.task = None
        self.passer_by = True

    # --- hands --------------------------------------------------------------------------------

    def rider_turn(self) -> bool:
        """At most one physical action of the rider, the passer-by or the staff; True if one happened."""
        if self.passer_by:
            self.passer_by = False
            opened = [b["bay"] for b in self.cabinet.call("status")["bays"] if b["door"] == "open"]
            for bay in opened:
                self.cabinet.call("close_door", bay=bay)
            return bool(opened)
        task = self.task
        if task is not None and task.steps:
            if task.steps[0] == "ack":
                if not self.ack.get(task.bay):
                    return False
                task.steps.pop(0)
            return self.hands(task.steps[0], task) if task.steps else False
        if not self.life.ready or self.life.killed:
            return False
        if self.scan is not None:
            if time.monotonic() - self.scan[1] < SCAN_RETRY_S and self.scan[2] == self.life.number:
                return False
            self.scan = None
        if self.in_flight() is not None or self.closing:
            return False
        return self.staff() or self.new_rider()

    def hands(self, step: str, task: Task) -> bool:
        """Do one step of ``task`` on the cabinet."""
        task.steps.remove(step)
        task.done.append(step)
        bay = task.bay
        if step == "close":
            self.cabinet.call("close_door", bay=bay)
        elif step in ("insert", "insert_foreign"):
            if self.holding_theirs(task.swap_id):
                return False  # a rider has one battery: theirs is already in another bay
            prefix = "SH9" if step == "insert" else "ZZ9"
            battery_id = f"{prefix}{len(self.inserted) + 1:06d}"
            self.cabinet.call("insert_battery", bay=bay, battery_id=battery_id, soc_pct=20.0)
            self.inserted[battery_id] = task.swap_id
        else:
            taken = self.cabinet.call("take_battery", bay=bay)
            assert taken is not None, f"bay {bay} was opened for the rider to take a battery, but it is empty"
            self.takes.append(
                Take(taken, bay, task.swap_id, "charged" if task.name == "swap.take_charged" else "take_back")
            )
        return True

    def holding_theirs(self, swap_id: str | None) -> bool:
        """Whether the rider of ``swap_id`` already put their battery in (and did not get it back)."""
        back = {t.battery_id for t in self.takes if t.kind == "take_back"}
        return any(sid == swap_id and b not in back for b, sid in self.inserted.items())

    def staff(self) -> bool:
        """Staff take batteries of other networks out, and the flattest battery while fewer than two bays are empty."""
        out = {int(r[0]) for r in self.query("SELECT bay FROM bays_out_of_service")}
        bays = [b for b in self.cabinet.call("status")["bays"] if b["bay"] not in out]
        full = [b for b in bays if b["battery"] is not None and b["door"] == "closed"]
        foreign = [b for b in full if not NETWORK_ID.fullmatch(b["battery"]["battery_id"])]
        if foreign:
            bay = foreign[0]
        elif sum(1 for b in bays if b["battery"] is None) < 2 and full:
            bay = min(full, key=lambda b: b["battery"]["soc_pct"])
        else:
            return False
        taken = self.cabinet.call("staff_unload", bay=bay["bay"])
        self.takes.append(Take(taken, bay["bay"], None, "staff"))
        return True

    def new_rider(self) -> bool:
        """A rider scans a fresh code (a profile that reaches the targeted state, if any) once one is charged."""
        charged = POLICY["charged_soc_pct"]
        out = {int(r[0]) for r in self.query("SELECT bay FROM bays_out_of_service")}
        bays = self.cabinet.call("status")["bays"]
        truth = {b["bay"]: b["battery"]["battery_id"] if b["battery"] else None for b in bays}
        if self.life.batteries != truth or "open" in self.life.doors.values():
            return False  # riders take seconds; this one waits until the station has seen what staff did
        if not any(
            b["battery"] is not None
            and b["door"] == "closed"
            and b["battery"]["soc_pct"] >= charged
            and NETWORK_ID.fullmatch(b["battery"]["battery_id"])
            for b in bays
            if b["bay"] not in out
        ):
            return False  # the flat ones are charging
        profile = PROFILE_FOR.get(self.target or "") or self.rng.choices(list(PROFILES), list(PROFILES.values()))[0]
        self.target = None
        self.next_rider += 1
        rider = f"R{self.next_rider:04d}"
        self.riders[rider] = profile
        self.cabinet.call("scan", text=self.codes.issue(rider, ttl_s=600))
        self.scan = (rider, time.monotonic(), self.life.number)
        return True


# --- the run and its checks ------------------------------------------------------------------------

EventRow = tuple[int, str, str, dict[str, Any], float]
"""seq, id, type, payload, mono of a stored event."""


@dataclass
class Run:
    """Everything the checks read, taken once the last station life stopped."""

    crash: Crash
    seconds: float
    integrity: str
    events: list[EventRow]
    swaps: list[dict[str, Any]]
    bays: list[dict[str, Any]]
    batteries: dict[int, str]
    pulses: list[tuple[int, float]]

    @property
    def completed(self) -> dict[str, dict[str, Any]]:
        """Completed swaps by id."""
        return {s["swap_id"]: s for s in self.swaps if s["outcome"] == "completed"}


def unlock_intents(events: list[EventRow]) -> dict[int, list[float]]:
    """Bay → monotonic times at which the station recorded that it was about to pulse that bay's lock.

    A ``swap.bay_unlocking`` names its bay; a recovery that ``reissued`` an unlock pulses the swap's
    current bay, which is the one its last ``swap.bay_unlocking`` named (a reissue only happens from an
    unlocking state).
    """
    out: dict[int, list[float]] = {}
    last_bay: dict[str, int] = {}
    for _, _, kind, payload, mono in events:
        if kind == "swap.bay_unlocking":
            last_bay[str(payload["swap_id"])] = int(payload["bay"])
            out.setdefault(int(payload["bay"]), []).append(mono)
        elif kind == "swap.recovered" and payload["decision"] == "reissued":
            out.setdefault(last_bay[str(payload["swap_id"])], []).append(mono)
    return out


def collect(crash: Crash, seconds: float) -> Run:
    events = [
        (int(seq), str(eid), str(kind), json.loads(payload), float(mono))
        for seq, eid, kind, payload, mono in crash.query("SELECT seq, id, type, payload, mono FROM events ORDER BY seq")
    ]
    swaps = [
        {**json.loads(record)["swap"], "row_outcome": outcome}
        for record, outcome in crash.query("SELECT record, outcome FROM swaps ORDER BY started")
    ]
    return Run(
        crash=crash,
        seconds=seconds,
        integrity=str(crash.query("PRAGMA integrity_check")[0][0]),
        events=events,
        swaps=swaps,
        bays=crash.cabinet.call("status")["bays"],
        batteries={int(b): i for b, i in crash.cabinet.call("batteries").items()},
        pulses=[(int(b), float(t)) for b, t in crash.cabinet.call("pulses")],
    )
