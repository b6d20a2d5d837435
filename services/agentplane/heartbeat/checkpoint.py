"""The restart checkpoint: each agent's last seen time, interval and trusted token (not events).

A restart reads it to give online agents their deadlines back and to trust the tokens it
trusted before, without asking the registry about the whole fleet.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agentplane.eventstore.views import ViewStore

LAST_SEEN = "last_seen"
CHECKPOINT_META = "checkpoint_meta"


@dataclass(frozen=True)
class CheckpointRow:
    agent_id: str
    last_seen: float
    offline_after: float
    trust: tuple[str, float] | None  # (token tag hex, trusted until)
    # When the trust was read: a clear of all trust after this moment voids it, even when
    # the row is written later (the write runs in a thread, after the snapshot).
    checked_at: float


@dataclass
class RestoredTrust:
    """What `restore` made of the checkpointed tokens (logged: a restart that has to ask the
    registry about its whole fleet must say why)."""

    trusted: int = 0
    expired: int = 0  # trusted until a time already past
    cleared: int = 0  # checked before the previous run dropped all trust (lost connection)
    without: int = 0  # no trusted token in the checkpoint (never verified, or revoked)
    cleared_at: float = 0.0

    def holds(self, remembered: dict[str, Any], now: float) -> bool:
        """Count one agent's checkpointed trust; True when it is trusted again."""
        tag, until = remembered.get("tag"), remembered.get("trusted_until", 0.0)
        if not tag:
            self.without += 1
        elif until <= now:
            self.expired += 1
        elif remembered.get("checked_at", 0.0) < self.cleared_at:
            self.cleared += 1
        else:
            self.trusted += 1
            return True
        return False


def read_checkpoint(checkpoints: ViewStore) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """Each agent's row, and the checkpoint's own metadata (when written, when trust cleared)."""
    with checkpoints.read() as tx:
        seen = dict(tx.items(LAST_SEEN))
        meta = tx.get(CHECKPOINT_META, CHECKPOINT_META) or {}
    return seen, meta


def write_checkpoint(
    checkpoints: ViewStore, rows: list[CheckpointRow], written_at: float, trust_cleared_at: float
) -> int:
    """Persist last-seen times, intervals and trusted token tags in one transaction."""
    with checkpoints.transaction() as tx:
        for row in rows:
            doc: dict[str, Any] = {
                "last_seen": row.last_seen,
                "offline_after": row.offline_after,
                "checked_at": row.checked_at,
            }
            if row.trust is not None:
                doc["tag"], doc["trusted_until"] = row.trust
            tx.put(LAST_SEEN, row.agent_id, doc)
        tx.put(
            CHECKPOINT_META,
            CHECKPOINT_META,
            {"written_at": written_at, "trust_cleared_at": trust_cleared_at},
        )
    return len(rows)
