"""Group commit: aggregates saved by concurrent commands share one transaction.

One fsync per group instead of one per command is what lets a storm of registrations go
faster than the disk's sync rate. The first thread to arrive leads: it saves everything
pending (including what arrives meanwhile) and wakes the others. If a group fails on a
version conflict, it is split in halves (again and again) so only the conflicting commands
fail, and the others still share a few transactions instead of taking one each.

`recorded(recordings)` runs in the leader's thread right after each commit (before
`after_commit`), with the recordings of the group in commit order: the hook through which a
projection and the outbox relay take the new events from memory instead of reading them back.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from eventsourcing.application import Application
from eventsourcing.persistence import Recording


class _Waiter:
    """Wakes a thread once all of its members are saved (one wake-up for a whole batch)."""

    def __init__(self, members: int) -> None:
        self.left = members  # counted down only by the one leader at a time
        self.done = threading.Event()


@dataclass
class _Pending:
    events: tuple[Any, ...]
    waiter: _Waiter = field(default_factory=lambda: _Waiter(1))
    position: int = 0
    error: BaseException | None = None


class GroupCommitter:
    """Thread-safe `save(*aggregates) -> last notification id`, batched across threads."""

    def __init__(
        self,
        app: Application[Any],
        after_commit: Callable[[], object] = lambda: None,
        max_group: int = 500,
        recorded: Callable[[list[Recording[Any]]], object] = lambda recordings: None,
    ) -> None:
        self.app = app
        self.after_commit = after_commit
        self.recorded = recorded
        self.max_group = max_group
        self._lock = threading.Lock()
        self._pending: list[_Pending] = []
        self._leading = False
        self.groups = 0
        self.saved = 0
        # `Application.save` checks every event against runtime-checkable Protocols
        # (`isinstance` walks the protocol's members: ~4 % of the registry's CPU in a
        # registration storm). Our members are events already, so when the application adds
        # nothing to a save (no snapshots, no notify hooks) they go to its event store as
        # they are: the same recordings, the same transaction.
        cls = type(app)
        self._put_directly = (
            getattr(app, "snapshots", None) is None
            and cls._notify is Application._notify
            and cls.notify is Application.notify
            and cls.save is Application.save
            and cls._record is Application._record
        )

    def save(self, *aggregates: Any) -> int:
        # Collected now, so a failed group can still save each member's own events.
        return self.save_events(*(e for a in aggregates for e in a.collect_events()))

    def save_events(self, *events: Any) -> int:
        """Save events built without loading their aggregates (each names the version it
        follows, so the store refuses one whose aggregate moved on: IntegrityError)."""
        (outcome,) = self.save_each([events])
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    def save_each(self, members: list[tuple[Any, ...]]) -> list[int | BaseException]:
        """Save several commands' events at once, each member all or nothing: per member its
        last notification id, or the error that refused it. One wait for a whole batch."""
        waiter = _Waiter(len(members))
        items = [_Pending(tuple(events), waiter) for events in members]
        with self._lock:
            self._pending.extend(items)
            lead = not self._leading
            if lead:
                self._leading = True
        if lead:
            self._lead()
        if items:
            waiter.done.wait()
        return [item.error if item.error is not None else item.position for item in items]

    def _lead(self) -> None:
        while True:
            with self._lock:
                group, self._pending = (
                    self._pending[: self.max_group],
                    self._pending[self.max_group :],
                )
                if not group:
                    self._leading = False
                    return
            try:
                self.recorded(self._commit(group))
                self.after_commit()
            except BaseException as exc:  # the projection failed: every member learns it
                for item in group:
                    if item.error is None:
                        item.error = exc
            finally:
                for item in group:
                    item.waiter.left -= 1
                    if item.waiter.left == 0:
                        item.waiter.done.set()

    def _commit(self, group: list[_Pending]) -> list[Recording[Any]]:
        recordings = self._save_split(group)
        self.groups += 1
        self.saved += len(group)
        return recordings

    def _save_split(self, group: list[_Pending]) -> list[Recording[Any]]:
        try:
            recordings = self._save([e for item in group for e in item.events])
        except Exception as exc:
            if len(group) == 1:
                group[0].error = exc
                return []
            # Some member conflicts: halves until it stands alone (log2 extra saves each).
            middle = len(group) // 2
            return self._save_split(group[:middle]) + self._save_split(group[middle:])
        position = self._last(recordings)
        for item in group:
            item.position = position
        return recordings

    def _save(self, events: list[Any]) -> list[Recording[Any]]:
        if self._put_directly:
            # What `Application._record` does with events alone (no aggregates to cache).
            return list(self.app.events.put(events))
        return list(self.app.save(*events))

    @staticmethod
    def _last(recordings: Any) -> int:
        return max((r.notification.id for r in recordings), default=0)
