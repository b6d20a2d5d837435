"""The cyclic garbage collector tuned for a server holding thousands of requests in flight.

With CPython's defaults (a young collection every 700 net allocations) the gateway with 1,000
registrations in flight spent 320 of its 800 µs per request in the collector (measured in
process with gc.callbacks): every in-flight request's objects (coroutines, scopes, models)
outlive the young collections, are promoted, and the older generations, which also hold the
~130,000 objects of the app itself (FastAPI routes, pydantic schemas), are scanned again and
again. Frozen and with these thresholds: about 40 µs. Nearly all request objects are freed
by reference counting; cycles are rare and small, so collecting young objects every 20,000
allocations instead of 700 only lets a few megabytes of cyclic garbage wait a little longer.
The objects alive once the app is built live as long as the process, so they are frozen out
of every scan. The gateway only: tuned the same way in every service, the heartbeat's CPU per
beat rose from 14 or 17 to 22 µs and its capacity fell from ~57k to 29k beats/s
(`BENCH_HEARTBEAT_ONLY=offline .venv/bin/python -m bench.heartbeat`).
"""

from __future__ import annotations

import gc

# Net allocations of tracked objects between young collections (CPython: 700).
YOUNG_THRESHOLD = 20_000
# Young collections per middle one (CPython: 10).
MIDDLE_THRESHOLD = 20
# Middle collections per full one (CPython: 10).
OLD_THRESHOLD = 10


def tune_for_server() -> None:
    """Freeze what exists now (call once the app is built) and collect less often."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, MIDDLE_THRESHOLD, OLD_THRESHOLD)
