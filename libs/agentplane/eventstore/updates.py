"""Changing existing aggregates under optimistic concurrency: load, apply, save, retry.

Every command that changes an aggregate someone else may change at the same time (another
request, another replica) is written the same way: load private copies, apply the change,
save them together; when the save conflicts (`IntegrityError`: an aggregate moved on since it
was loaded), load again and redo the change on what is now stored, a bounded number of times.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError

Result = TypeVar("Result")

# Enough for a burst of changes to one aggregate; beyond it the caller is told to try again.
ATTEMPTS = 5


def load(store: Application[Any], aggregate_id: UUID, *, to_change: bool = True) -> Any | None:
    """The stored aggregate, or None when there is none.

    `to_change`: a private copy, so a change whose save loses a race leaves no phantom events
    in the repository's cache (services set DEEPCOPY_FROM_AGGREGATE_CACHE, see
    `eventstore.application.store_env`); without it the cached instance, only to be read.
    """
    try:
        return store.repository.get(aggregate_id, deepcopy_from_cache=to_change)
    except AggregateNotFoundError:
        return None


def update_with_retry(
    attempt: Callable[[], tuple[Result, Sequence[Any]]],
    save: Callable[..., int],
    exhausted: Callable[[], Exception],
    *,
    attempts: int = ATTEMPTS,
) -> tuple[Result, int]:
    """Run `attempt` (load, decide, change: `(result, aggregates to save)`) and save what it
    changed; on a conflicting save run it again on what is stored now.

    Returns the result and what `save` returned (the last notification id), 0 when nothing
    changed (aggregates without pending events are not saved). Exceptions of `attempt` (a 404,
    a refused change) propagate at once; after `attempts` conflicts `exhausted()` is raised.
    """
    for _ in range(attempts):
        result, aggregates = attempt()
        changed = [aggregate for aggregate in aggregates if aggregate.pending_events]
        if not changed:
            return result, 0
        try:
            return result, save(*changed)
        except IntegrityError:
            continue  # another change of one of them landed first: look again
    raise exhausted()
