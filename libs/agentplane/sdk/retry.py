"""When a call may be repeated, and how long to wait before repeating it.

A call is repeated only when repeating cannot do anything twice:
- idempotent calls (GET, PUT, DELETE, HEAD, OPTIONS, calls whose effect is naturally
  idempotent such as heartbeats, and POSTs carrying an `Idempotency-Key`) are repeated on
  connection errors, 429 and 502/503/504;
- every other call is repeated only when the server certainly did not act on it: the
  connection was never established, or the answer was 429 (refused before any work).
Waits grow exponentially with full jitter; a 429's `Retry-After` is honoured.
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

import httpx

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
RETRY_STATUSES = frozenset({429, 502, 503, 504})
# Connection never established: the server cannot have seen the request.
NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently calls are repeated."""

    max_retries: int = 3
    backoff_base: float = 0.25
    backoff_max: float = 8.0
    # A 429 asking for a longer wait than this is raised instead of waited out.
    max_retry_after: float = 60.0

    def backoff(self, attempt: int) -> float:
        """Full jitter: uniform in [0, min(max, base * 2**attempt)]."""
        return random.uniform(0, min(self.backoff_max, self.backoff_base * 2**attempt))


NO_RETRIES = RetryPolicy(max_retries=0)


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait from `Retry-After` (seconds or an HTTP date), else `X-RateLimit-Reset`."""
    lowered = {k.lower(): v for k, v in headers.items()}
    value = lowered.get("retry-after")
    if value:
        try:
            return max(0.0, float(value))
        except ValueError:
            try:
                return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
            except (TypeError, ValueError):
                pass
    reset = lowered.get("x-ratelimit-reset")
    if reset:
        try:
            return max(0.0, float(reset) - time.time())
        except ValueError:
            return None
    return None


def retry_delay(
    policy: RetryPolicy, attempt: int, response: httpx.Response, idempotent: bool
) -> float | None:
    """How long to wait before repeating after `response`, or None to give up."""
    status = response.status_code
    if attempt >= policy.max_retries or status not in RETRY_STATUSES:
        return None
    if status == 429:
        wait = retry_after_seconds(response.headers)
        if wait is None:
            return policy.backoff(attempt)
        return wait if wait <= policy.max_retry_after else None
    # 502/503/504 after a non-idempotent call: the server may have acted; never repeat.
    return policy.backoff(attempt) if idempotent else None


def retry_after_error(
    policy: RetryPolicy, attempt: int, error: httpx.TransportError, idempotent: bool
) -> float | None:
    """How long to wait before repeating after a transport error, or None to give up."""
    if attempt >= policy.max_retries:
        return None
    if idempotent or isinstance(error, NEVER_SENT):
        return policy.backoff(attempt)
    return None
