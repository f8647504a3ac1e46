"""The wrong-password backoff shared by the status page and the hub's operator login, on a fake clock."""

from __future__ import annotations

import pytest

from kiosk.core.clock import FakeClock
from kiosk.core.guessing import GuessPolicy, GuessThrottle, client_key

ATTACKER = "192.168.1.66"
SCREEN = "127.0.0.1"


@pytest.fixture
def throttle(fake_clock: FakeClock) -> GuessThrottle:
    return GuessThrottle(GuessPolicy(), monotonic=fake_clock.monotonic)


def test_the_first_failures_cost_nothing(throttle: GuessThrottle) -> None:
    for _ in range(2):
        throttle.failed("alice", ATTACKER)
        assert throttle.retry_after("alice", ATTACKER) is None


def test_each_further_failure_doubles_the_wait(throttle: GuessThrottle, fake_clock: FakeClock) -> None:
    waits = []
    for _ in range(6):
        throttle.failed("alice", ATTACKER)
        waits.append(throttle.retry_after("alice", ATTACKER))
        fake_clock.advance(waits[-1] or 0.0)
    assert waits == [None, None, 1.0, 2.0, 4.0, 8.0]


def test_a_client_that_keeps_guessing_is_locked_out_at_the_cap(throttle: GuessThrottle, fake_clock: FakeClock) -> None:
    for _ in range(40):
        throttle.failed("alice", ATTACKER)
        fake_clock.advance(throttle.retry_after("alice", ATTACKER) or 0.0)
    throttle.failed("alice", ATTACKER)
    assert throttle.retry_after("alice", ATTACKER) == pytest.approx(900.0)


def test_forty_fast_guesses_leave_the_guesser_waiting(throttle: GuessThrottle, fake_clock: FakeClock) -> None:
    refused = 0
    for _ in range(40):  # 12 a second, as the attack on the hub did
        if throttle.retry_after("ops", ATTACKER) is not None:
            refused += 1
        else:
            throttle.failed("ops", ATTACKER)
        fake_clock.advance(1 / 12)
    assert refused >= 35
    assert throttle.retry_after("ops", ATTACKER) is not None


def test_another_client_is_not_slowed_by_the_guesser(throttle: GuessThrottle) -> None:
    for _ in range(20):
        throttle.failed("alice", ATTACKER)
    assert throttle.retry_after("alice", SCREEN) is None


def test_waiting_out_the_lockout_does_not_reset_the_count(throttle: GuessThrottle, fake_clock: FakeClock) -> None:
    for _ in range(12):
        throttle.failed("alice", ATTACKER)
    fake_clock.advance(900)
    throttle.failed("alice", ATTACKER)
    assert throttle.retry_after("alice", ATTACKER) == pytest.approx(900.0)


def test_failures_are_forgotten_after_a_quiet_hour(throttle: GuessThrottle, fake_clock: FakeClock) -> None:
    for _ in range(12):
        throttle.failed("alice", ATTACKER)
    fake_clock.advance(3601)
    assert throttle.retry_after("alice", ATTACKER) is None
    throttle.failed("alice", ATTACKER)
    assert throttle.retry_after("alice", ATTACKER) is None


def test_spraying_many_names_from_one_client_is_slowed(throttle: GuessThrottle) -> None:
    for n in range(10):
        throttle.failed(f"name{n}", ATTACKER)
    assert throttle.retry_after("alice", ATTACKER) is not None
    assert throttle.retry_after("alice", SCREEN) is None


def test_the_right_password_forgets_only_that_clients_failures(throttle: GuessThrottle) -> None:
    for _ in range(5):
        throttle.failed("alice", ATTACKER)
        throttle.failed("alice", SCREEN)
    throttle.succeeded("alice", SCREEN)
    assert throttle.retry_after("alice", SCREEN) is None
    assert throttle.retry_after("alice", ATTACKER) is not None


def test_the_alarm_is_raised_once_per_window(throttle: GuessThrottle, fake_clock: FakeClock) -> None:
    raised = [throttle.failed("alice", ATTACKER) for _ in range(8)]
    assert [a is not None for a in raised] == [False] * 4 + [True] + [False] * 3
    alarm = raised[4]
    assert alarm is not None
    assert (alarm.account, alarm.clients, alarm.failures) == ("alice", (ATTACKER,), 5)
    assert "alice" in alarm.describe()
    assert [a.account for a in throttle.alarms()] == ["alice"]
    fake_clock.advance(901)
    assert throttle.alarms() == []
    assert [throttle.failed("alice", ATTACKER) is not None for _ in range(5)][-1] is True


def test_the_alarm_counts_failures_from_every_client(throttle: GuessThrottle) -> None:
    alarms = [throttle.failed("alice", f"10.0.0.{n}") for n in range(5)]
    assert alarms[-1] is not None
    assert len(alarms[-1].clients) == 5


def test_memory_is_bounded(fake_clock: FakeClock) -> None:
    throttle = GuessThrottle(GuessPolicy(max_tracked=50), monotonic=fake_clock.monotonic)
    for n in range(5000):
        throttle.failed(f"name{n}", f"10.0.{n // 250}.{n % 250}")
    assert throttle.tracked <= 100


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("192.168.1.5", "192.168.1.5"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:bbbb::7", "2001:db8:1:2::/64"),
        ("::ffff:10.0.0.1", "10.0.0.1"),
        ("::1", "::1"),
        (None, "local"),
        ("not an address", "local"),
    ],
)
def test_ipv6_clients_count_per_64(address: str | None, key: str) -> None:
    assert client_key(address) == key
