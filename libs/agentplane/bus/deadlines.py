"""The caller's deadline, carried with a bus request: work it gave up on is never started.

A caller that waits `budget` seconds for an answer sends the time by which the service must
have *started* the work (`ap-deadline`, epoch milliseconds), a `grace` earlier than it stops
waiting. A request still queued at that time is answered "not run" (`deadline_exceeded`)
without running; one that started finishes, commits and is answered within the grace. So a
caller that gets no answer at all is rare (the grace was not enough), and a caller that gets
`deadline_exceeded` knows that nothing changed.

Epoch time, not a monotonic clock: the caller and the service are different processes
(different hosts, too, whose clocks NTP keeps within milliseconds of each other).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from contextvars import ContextVar

from agentplane.contracts.errors import ErrorKind, ServiceError

HEADER = "ap-deadline"

# Time a started command may take to commit and answer after its start deadline (the
# registry's group commit plus its reply), taken from the caller's budget, at most half of it.
REPLY_GRACE_SECONDS = 2.0

# The deadline of the request the current task answers (set by `ServiceHost` per message;
# each message is answered in its own task, so its own copy of the context).
current: ContextVar[float | None] = ContextVar("agentplane_bus_deadline", default=None)


def start_deadline(budget: float, now: float | None = None) -> float:
    """Epoch seconds by which a request the caller waits `budget` seconds for must start."""
    grace = min(REPLY_GRACE_SECONDS, budget / 2)
    return (time.time() if now is None else now) + budget - grace


def header(deadline: float) -> dict[str, str]:
    return {HEADER: str(int(deadline * 1000))}


def from_headers(headers: Mapping[str, str] | None) -> float | None:
    """The deadline a request carries (epoch seconds), None when it carries none or garbage."""
    if not headers or (value := headers.get(HEADER)) is None:
        return None
    try:
        return int(value) / 1000
    except ValueError:
        return None


def passed(deadline: float | None) -> bool:
    return deadline is not None and time.time() >= deadline


def remaining(deadline: float | None) -> float | None:
    """Seconds left before `deadline` (None: no deadline); negative once it passed."""
    return None if deadline is None else deadline - time.time()


def not_run() -> ServiceError:
    return ServiceError(
        ErrorKind.DEADLINE_EXCEEDED,
        "Not run: the request waited past its deadline before it started; nothing was changed",
    )


def check(deadline: float | None) -> None:
    """Raise `not_run()` when the work is about to start after its deadline."""
    if passed(deadline):
        raise not_run()
