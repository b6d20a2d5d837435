"""Projection runner: applies recorded events to a view, position in the same transaction."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import Any, Protocol

from eventsourcing.application import Application
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Recording

from agentplane.eventstore.views import ViewStore, ViewTx

log = logging.getLogger("agentplane.projection")


class Projection(Protocol):
    """Pure function of (view, event): no I/O besides the transaction it is given.

    A projection may declare `version: int` (default 1); raising it makes `migrate` replay
    the log over the view once, e.g. to fill new fields or order keys of older documents.
    It may also declare `rebuilt_kinds`: document kinds emptied before that replay, for a
    version that puts documents where an older one did not (nothing stale is left behind).
    """

    name: str

    def apply(self, event: DomainEventProtocol[Any], tx: ViewTx) -> None: ...


def version_marker(projection: str) -> str:
    """The tracking row holding the version of `projection` that built its view (0: none
    recorded). `ProjectionRunner.migrate` keeps it; a view fed from elsewhere (a stream
    consumer) keeps it with its own upgrade steps."""
    return f"projection-version:{projection}"


class ProjectionRunner:
    """Catches a view up with an application's notification log.

    Used in three ways: `catch_up()` right after a command saved (read-your-writes), `run()`
    as a background poller (picks up events written by other replicas within `poll_seconds`),
    and `rebuild()` from position 0 into scratch storage for `replay --verify`.
    """

    def __init__(
        self,
        app: Application[Any],
        store: ViewStore,
        projection: Projection,
        *,
        batch_size: int = 1000,
        poll_seconds: float = 0.2,
    ) -> None:
        self.app = app
        self.store = store
        self.projection = projection
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self.tracking_name = f"projection:{projection.name}"
        self._lock = threading.Lock()

    def catch_up(self) -> int:
        """Apply every event after the view's position; return how many were applied."""
        applied = 0
        with self._lock:
            while True:
                with self.store.transaction() as tx:
                    tx.lock(self.tracking_name)
                    position = tx.position(self.tracking_name)
                    notifications = self.app.recorder.select_notifications(
                        position, self.batch_size, inclusive_of_start=False
                    )
                    if not notifications:
                        return applied
                    for notification in notifications:
                        self.projection.apply(self.app.mapper.to_domain_event(notification), tx)
                    tx.set_position(self.tracking_name, notifications[-1].id)
                applied += len(notifications)

    def apply_recorded(self, recordings: list[Recording[Any]]) -> int:
        """Apply what a commit in this process just recorded, from memory.

        Taken only when the recordings continue the view's position without a gap; anything
        else (events of other writers in between, a gap) falls back to `catch_up`.
        """
        if not recordings:
            return self.catch_up()
        ids = [r.notification.id for r in recordings]
        if ids != list(range(ids[0], ids[0] + len(ids))):
            return self.catch_up()
        with self._lock:
            with self.store.transaction() as tx:
                tx.lock(self.tracking_name)
                position = tx.position(self.tracking_name)
                if position + 1 == ids[0]:
                    for recording in recordings:
                        self.projection.apply(recording.domain_event, tx)
                    tx.set_position(self.tracking_name, ids[-1])
                    return len(ids)
        return self.catch_up()

    def position(self) -> int:
        return self.store.position(self.tracking_name)

    def migrate(self) -> int:
        """Replay the whole log over the view if it was built by another projection version.

        Run before the service answers. The replay overwrites every document in order (the
        final state is what a fresh build gives); a crash midway resumes at the next start.
        Returns how many events were re-applied.
        """
        version = int(getattr(self.projection, "version", 1))
        marker = version_marker(self.projection.name)
        with self._lock:
            with self.store.transaction() as tx:
                tx.lock(self.tracking_name)
                if tx.position(marker) == version:
                    return 0
                replay = tx.position(self.tracking_name) > 0
                if replay:
                    for kind in getattr(self.projection, "rebuilt_kinds", ()):
                        tx.clear(kind)
                tx.set_position(self.tracking_name, 0)
                tx.set_position(marker, version)
        if not replay:
            return 0
        count = self.catch_up()
        log.info("projection %s: replayed %d events for version %d", self.projection.name,
                 count, version)  # fmt: skip
        return count

    async def run(self) -> None:
        while True:
            try:
                await asyncio.to_thread(self.catch_up)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("projection %s failed; retrying", self.projection.name)
                await asyncio.sleep(1.0)
            await asyncio.sleep(self.poll_seconds)

    def rebuild(self) -> tuple[int, float]:
        """Apply everything from position 0 (to an empty store); return (events, seconds)."""
        started = time.perf_counter()
        count = self.catch_up()
        return count, time.perf_counter() - started
