"""How hard password guessing is made: one policy for the station's status page and the hub's operator login.

Failures are counted per *(account, client)* and per *client* (across accounts, against spraying one
password over many names). After a few free failures each further one doubles the wait before that
client may try again, up to a cap; at the cap the guessing client is in effect locked out. The account
itself is never locked: the right password from another client (the station's own screen, a
technician's laptop, an operator's office) still works, so wrong guesses cannot be turned into a
lockout of staff. Many failures on one account, from any clients, raise an alarm for people to see.

Pure: no I/O, an injected monotonic clock, memory bounded by ``max_tracked`` entries per table.
"""

from __future__ import annotations

import ipaddress
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field

ANY_ACCOUNT = "\x00any"
"""The account key under which a client's failures across all accounts are counted (no real name has NUL)."""


@dataclass(frozen=True)
class GuessPolicy:
    """The numbers of the backoff; the defaults suit both the station and the hub."""

    free_failures: int = 3
    """Wrong passwords for one account from one client before any wait."""
    client_free_failures: int = 10
    """Wrong passwords from one client over all accounts before any wait."""
    base_delay_s: float = 1.0
    """The first wait; each further failure doubles it."""
    max_delay_s: float = 900.0
    """The longest wait between tries: the lockout of a client that keeps guessing."""
    forget_after_s: float = 3600.0
    """Failures are forgotten when none came for this long (longer than ``max_delay_s``, so waiting out
    the lockout does not reset the count)."""
    alarm_after: int = 5
    """Wrong passwords for one account (from any clients) within ``alarm_window_s`` that raise the alarm."""
    alarm_window_s: float = 900.0
    max_tracked: int = 4096
    """Entries per table at most (the least recently failed are forgotten first)."""

    def delay(self, failures: int, free: int) -> float:
        """The wait after ``failures`` failures when ``free`` of them cost nothing."""
        if failures < free:
            return 0.0
        return min(self.max_delay_s, self.base_delay_s * 2.0 ** min(failures - free, 64))


@dataclass
class _Count:
    failures: int
    last: float


@dataclass(frozen=True)
class Alarm:
    """Someone is guessing an account's password: raised once per window, shown until the window ends."""

    account: str
    clients: tuple[str, ...]
    """The clients that failed, newest last (at most a few)."""
    failures: int
    since: float
    """Monotonic time of the first failure counted."""

    def describe(self) -> str:
        """One line for a warnings list or a log."""
        who = ", ".join(self.clients)
        return f"{self.failures} wrong passwords for account {self.account!r} (from {who})"


@dataclass
class _Recent:
    times: deque[float] = field(default_factory=lambda: deque(maxlen=256))
    clients: OrderedDict[str, None] = field(default_factory=OrderedDict)
    alarmed_at: float | None = None


def client_key(address: str | None) -> str:
    """The client an address belongs to: an IPv4 address, or the /64 of an IPv6 one.

    One machine on a LAN can pick any address of its /64, so IPv6 clients are counted per /64; an
    IPv4-mapped address counts as its IPv4 address. Anything else (a Unix socket, no address) is ``local``.
    """
    if not address:
        return "local"
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return "local"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        if ip.is_loopback:
            return str(ip)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


class GuessThrottle:
    """Counts wrong passwords and says how long a client must wait before its next try.

    ``retry_after`` is asked before the password is checked: a client that must wait is answered at
    once, so guessing also stops costing password hashes.
    """

    def __init__(self, policy: GuessPolicy | None = None, *, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.policy = policy or GuessPolicy()
        self._now = monotonic
        self._counts: OrderedDict[tuple[str, str], _Count] = OrderedDict()
        self._recent: OrderedDict[str, _Recent] = OrderedDict()

    def retry_after(self, account: str, client: str) -> float | None:
        """Seconds until ``client`` may try ``account`` again, or None when a try is allowed now."""
        now = self._now()
        waits = [
            self._wait((account, client), self.policy.free_failures, now),
            self._wait((ANY_ACCOUNT, client), self.policy.client_free_failures, now),
        ]
        wait = max(waits)
        return wait if wait > 0 else None

    def failed(self, account: str, client: str) -> Alarm | None:
        """Count a wrong password; the alarm when this failure raises it (once per window), else None."""
        now = self._now()
        self._bump((account, client), now)
        self._bump((ANY_ACCOUNT, client), now)
        return self._note(account, client, now)

    def succeeded(self, account: str, client: str) -> None:
        """The right password: this client's failures for this account (and across accounts) are forgotten.

        Other clients' counts stay: a guesser is not let off because staff signed in elsewhere.
        """
        self._counts.pop((account, client), None)
        self._counts.pop((ANY_ACCOUNT, client), None)

    def alarms(self) -> list[Alarm]:
        """The alarms raised within the last window, oldest first (for a warnings list)."""
        now = self._now()
        found = []
        for account, recent in self._recent.items():
            self._trim(recent, now)
            if recent.alarmed_at is not None and now - recent.alarmed_at <= self.policy.alarm_window_s:
                found.append(self._alarm(account, recent))
        return found

    @property
    def tracked(self) -> int:
        """How many (account, client) and account entries are remembered (for tests of the memory bound)."""
        return len(self._counts) + len(self._recent)

    # --- inside ---------------------------------------------------------------------------------

    def _wait(self, key: tuple[str, str], free: int, now: float) -> float:
        count = self._counts.get(key)
        if count is None:
            return 0.0
        if now - count.last > self.policy.forget_after_s:
            del self._counts[key]
            return 0.0
        return count.last + self.policy.delay(count.failures, free) - now

    def _bump(self, key: tuple[str, str], now: float) -> None:
        count = self._counts.pop(key, None)
        if count is None or now - count.last > self.policy.forget_after_s:
            count = _Count(0, now)
        count.failures += 1
        count.last = now
        self._counts[key] = count
        while len(self._counts) > self.policy.max_tracked:
            self._counts.popitem(last=False)

    def _trim(self, recent: _Recent, now: float) -> None:
        while recent.times and now - recent.times[0] > self.policy.alarm_window_s:
            recent.times.popleft()

    def _note(self, account: str, client: str, now: float) -> Alarm | None:
        recent = self._recent.pop(account, None) or _Recent()
        self._recent[account] = recent
        while len(self._recent) > self.policy.max_tracked:
            self._recent.popitem(last=False)
        recent.times.append(now)  # bounded by the deque's maxlen
        self._trim(recent, now)
        recent.clients.pop(client, None)
        recent.clients[client] = None
        while len(recent.clients) > 5:
            recent.clients.popitem(last=False)
        if len(recent.times) < self.policy.alarm_after:
            return None
        if recent.alarmed_at is not None and now - recent.alarmed_at <= self.policy.alarm_window_s:
            return None
        recent.alarmed_at = now
        return self._alarm(account, recent)

    def _alarm(self, account: str, recent: _Recent) -> Alarm:
        since = recent.times[0] if recent.times else self._now()
        return Alarm(account, tuple(recent.clients), len(recent.times), since)
