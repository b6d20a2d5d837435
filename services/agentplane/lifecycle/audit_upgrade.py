"""Brings a live audit view written by an earlier version to what this version builds.

Version 1 made entries of message events (`audit_actions.RETIRED_ACTIONS`); `replay --verify`,
which rebuilds the view with today's projection, would report each as a difference. They are
removed once, at start, before the audit consumer resumes: in transactions of at most `chunk`
rows (a view may hold millions), so the writer lock is never held long, and a process killed
midway has committed what it removed and finishes at the next start (the scan is idempotent).
The view's version is recorded in its tracking table when done (`version_marker`, as
`ProjectionRunner.migrate` does), so a later start reads one row and scans nothing.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

from agentplane.eventstore.projection import version_marker
from agentplane.eventstore.views import ViewStore, ViewTx
from agentplane.lifecycle.audit_actions import RETIRED_ACTIONS
from agentplane.lifecycle.projections import AUDIT, AuditProjection

log = logging.getLogger("agentplane.lifecycle.audit")

# Rows read (and at most deleted) per transaction.
CHUNK = 2000


def upgrade_audit_view(views: ViewStore, chunk: int = CHUNK) -> int | None:
    """Remove the entries earlier versions made of message events; how many (None: the view
    was already at this version, nothing scanned)."""
    marker = version_marker(AuditProjection.name)
    version = AuditProjection.version
    with views.read() as tx:
        if tx.position(marker) >= version:
            return None
        agents = sorted(tx.scopes(AUDIT))
    removed = scanned = 0
    cursor = _Cursor(agents)
    while True:
        with views.transaction() as tx:
            step = _remove_retired(tx, cursor, chunk)
            if step is None:  # every row scanned: the view is at this version
                tx.set_position(marker, version)
                break
        removed, scanned = removed + step[0], scanned + step[1]
    log.info("audit view upgraded to version %d: removed %d message entries of earlier "
             "versions (%d entries scanned)", version, removed, scanned)  # fmt: skip
    return removed


class _Cursor:
    """Where the scan of the view stands: the agent being read, and the last row read of it."""

    def __init__(self, agents: list[str]) -> None:
        self.agents: Iterator[str] = iter(agents)
        self.agent: str | None = next(self.agents, None)
        self.after: tuple[str, str] | None = None

    def next_agent(self) -> None:
        self.agent, self.after = next(self.agents, None), None


def _remove_retired(tx: ViewTx, cursor: _Cursor, chunk: int) -> tuple[int, int] | None:
    """Read up to `chunk` rows on from `cursor` and delete the retired ones; (removed, read),
    or None when nothing was left to read."""
    if cursor.agent is None:
        return None
    removed = read = 0
    while cursor.agent is not None and read < chunk:
        want = chunk - read
        rows = tx.page(AUDIT, cursor.agent, want, after=cursor.after)
        for _, key, text in rows:
            if json.loads(text).get("action") in RETIRED_ACTIONS:
                tx.delete(AUDIT, key)
                removed += 1
        read += len(rows)
        if len(rows) < want:
            cursor.next_agent()
        else:
            cursor.after = (rows[-1][0], rows[-1][1])
    return removed, read
