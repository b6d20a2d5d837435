"""Moving-window request counts per key, in memory, that also take counts from other replicas.

The `limits` package (used before) refuses to record hits beyond a limit, but a count another
gateway replica already admitted must be recorded whatever this replica's view says, or the
replicas' totals drift apart. So the windows are kept here: per key, the admissions of the
last minute as (Unix time, count) entries with a running total.

A limit is `per_minute` requests in any 60 s span and `burst` in any 1 s span. A request is
counted only when both admit it, so a refused request costs nothing.

Every request of the gateway passes here, so each check is O(1) amortized: the last second's
entries are kept apart with their own running total (scanning them cost up to `burst` steps
per request, some 10 µs for a busy enterprise workspace), and a refusal looks only at the
oldest entries it needs (copying the minute cost O(`per_minute`) per refused request, the
most for a client that hammers past its limit).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

MINUTE = 60.0
SECOND = 1.0
# Idle keys are forgotten once their last entry has left the minute window; the sweep that
# does it runs at most this often.
SWEEP_SECONDS = 10.0


@dataclass(frozen=True)
class Limit:
    """Requests per minute and per-second burst."""

    per_minute: int
    burst: int


@dataclass(frozen=True)
class Verdict:
    """One request's outcome; times are Unix seconds."""

    allowed: bool
    limit: int
    remaining: int
    # When the oldest counted request leaves the minute window (admitted), or when the request
    # would be admitted (refused).
    reset_at: float
    retry_after: int | None


@dataclass
class _Window:
    # The last minute's and the last second's entries, oldest first, with their totals.
    entries: deque[tuple[float, int]] = field(default_factory=deque)
    total: int = 0
    second: deque[tuple[float, int]] = field(default_factory=deque)
    second_total: int = 0

    def prune(self, now: float) -> None:
        while self.entries and self.entries[0][0] <= now - MINUTE:
            self.total -= self.entries.popleft()[1]
        while self.second and self.second[0][0] <= now - SECOND:
            self.second_total -= self.second.popleft()[1]

    def add(self, at: float, count: int) -> None:
        """Count at `at`; an entry from another replica may be older than the newest here
        (the next prune drops it from the second if it is older than that)."""
        _insert(self.entries, at, count)
        self.total += count
        _insert(self.second, at, count)
        self.second_total += count


def _insert(entries: deque[tuple[float, int]], at: float, count: int) -> None:
    """In time order; nearly always at the end, so the search is one step."""
    position = len(entries)
    while position and entries[position - 1][0] > at:
        position -= 1
    entries.insert(position, (at, count))


def _frees_at(entries: Sequence[tuple[float, int]], total: int, limit: int, span: float) -> float:
    """When enough of `entries` (oldest first, summing to `total`) have left a window of
    `span` seconds for one more request to fit under `limit` (stops at the first that does:
    one step when the window is exactly full)."""
    left = total
    for at, count in entries:
        left -= count
        if left < limit:
            return at + span
    return entries[-1][0] + span if entries else 0.0


class MovingWindows:
    """Moving windows of many keys; the caller passes the time, so tests need no clock."""

    def __init__(self) -> None:
        self._windows: dict[str, _Window] = {}
        self._swept_at = 0.0

    def __len__(self) -> int:
        return len(self._windows)

    def admit(self, key: str, limit: Limit, now: float, count: bool = True) -> Verdict:
        """Count one request of `key` if both windows admit it (only ask, with `count` off)."""
        window = self._window(key, now)
        in_second = window.second_total
        over_minute = window.total >= limit.per_minute
        over_burst = in_second >= limit.burst
        allowed = not over_minute and not over_burst
        if allowed and count:
            window.add(now, 1)
        oldest = window.entries[0][0] if window.entries else now
        reset_at = oldest + MINUTE
        retry_after = None
        if not allowed:
            frees = []
            if over_minute:
                frees.append(_frees_at(window.entries, window.total, limit.per_minute, MINUTE))
            if over_burst:
                frees.append(_frees_at(window.second, in_second, limit.burst, SECOND))
            reset_at = max(frees)
            retry_after = max(1, math.ceil(reset_at - now))
        return Verdict(
            allowed=allowed,
            limit=limit.per_minute,
            remaining=max(0, limit.per_minute - window.total),
            reset_at=reset_at,
            retry_after=retry_after,
        )

    def record(self, key: str, count: int, at: float) -> None:
        """Count requests another replica admitted at `at`, whatever this replica's view of
        the limit."""
        if count > 0:
            self._window(key, at).add(at, count)

    def frees_at(self, key: str, limit: Limit, now: float) -> float | None:
        """When `key` may have one more request counted under `limit`'s minute, or None when
        it may now (nothing is counted: for limits of events that already happened)."""
        window = self._windows.get(key)
        if window is None:
            return None
        window.prune(now)
        if window.total < limit.per_minute:
            return None
        return _frees_at(window.entries, window.total, limit.per_minute, MINUTE)

    def count(self, key: str, now: float) -> int:
        """Requests of `key` counted in the last minute."""
        window = self._windows.get(key)
        if window is None:
            return 0
        window.prune(now)
        return window.total

    def _window(self, key: str, now: float) -> _Window:
        if now - self._swept_at >= SWEEP_SECONDS:
            self._sweep(now)
        window = self._windows.get(key)
        if window is None:
            window = self._windows[key] = _Window()
        window.prune(now)
        return window

    def _sweep(self, now: float) -> None:
        self._swept_at = now
        idle = [
            key
            for key, window in self._windows.items()
            if not window.entries or window.entries[-1][0] <= now - MINUTE
        ]
        for key in idle:
            del self._windows[key]
