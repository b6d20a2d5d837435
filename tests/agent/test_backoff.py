"""Reconnect backoff: exponential ceiling, full jitter inside it, capped, reset."""

from __future__ import annotations

import random

from agentplane.agent.backoff import Backoff, jittered


def test_every_delay_is_within_the_exponential_ceiling() -> None:
    backoff = Backoff(base=0.5, cap=30.0, rng=random.Random(7))
    ceilings = []
    for attempt in range(60):
        ceiling = min(30.0, 0.5 * 2**attempt)
        ceilings.append(ceiling)
        delay = backoff.next_delay()
        assert 0.0 <= delay <= ceiling
    assert ceilings[-1] == 30.0 and backoff.ceiling() == 30.0


def test_full_jitter_spreads_delays_over_the_whole_range() -> None:
    delays = []
    for seed in range(400):
        backoff = Backoff(base=1.0, cap=8.0, attempt=10, rng=random.Random(seed))
        delays.append(backoff.next_delay())
    assert max(delays) <= 8.0
    assert min(delays) < 1.0 and max(delays) > 7.0  # not "cap minus a little"


def test_reset_starts_small_again() -> None:
    backoff = Backoff(base=0.5, cap=30.0, rng=random.Random(1))
    for _ in range(20):
        backoff.next_delay()
    backoff.reset()
    assert backoff.next_delay() <= 0.5


def test_huge_attempt_counts_do_not_overflow() -> None:
    assert Backoff(base=0.5, cap=30.0, attempt=10_000).next_delay() <= 30.0


def test_beat_jitter_stays_within_ten_percent() -> None:
    rng = random.Random(3)
    values = [jittered(30.0, rng) for _ in range(1000)]
    assert all(27.0 <= v <= 33.0 for v in values)
    assert len({round(v, 3) for v in values}) > 100
