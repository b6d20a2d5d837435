"""Agent tokens the registry verified, remembered so a heartbeat needs no round trip.

Per agent slot of the liveness table (same index, so no second dict at fleet scale): a
128-bit keyed tag of the token it last proved itself with and the time until which that
proof is trusted. The tag key is random per process, so the tags mean nothing outside it, and
the token itself is never kept.

Trust ends early when the registry publishes any event of the agent (rotation, revocation,
deletion, termination, …: `forget`), also when such an event was missed while our connection
to NATS was interrupted (replayed from the event stream afterwards), or for everyone when that
replay fails (`forget_all`); never later than the token's expiry when the registry reports it,
and in any case after the TTL (the safety net).

Trusted tags are checkpointed with the agents' last-seen times, so a restarted replica does
not have to ask the registry about every agent of its partition at once (a fleet would get
marked offline while it waits): it restores them and forgets the agents whose registry events
it may have missed (replayed from the event stream since the checkpoint).
"""

from __future__ import annotations

import hashlib
import os
import struct
from array import array

_TAG = struct.Struct("<QQ")
Tag = tuple[int, int]


class VerifiedTokens:
    """Verified (agent slot, token tag) pairs, each trusted until a given time."""

    def __init__(self, ttl: float, key: bytes | None = None) -> None:
        self.ttl = ttl
        # The key outlives restarts (it lives in the data dir), so checkpointed tags stay
        # meaningful; it never leaves this service, so a tag can't be checked elsewhere.
        self._key = key or os.urandom(32)
        self.hi = array("Q")
        self.lo = array("Q")
        self.until = array("d")
        # Bumped by every invalidation: a verification that overlapped one is not remembered.
        self.generation = 0

    def tag(self, token: str) -> Tag:
        digest = hashlib.blake2b(token.encode(), digest_size=16, key=self._key).digest()
        hi, lo = _TAG.unpack(digest)
        return hi, lo

    def trusted(self, slot: int, tag: Tag, now: float) -> bool:
        return (
            slot < len(self.until)
            and self.until[slot] > now
            and self.hi[slot] == tag[0]
            and self.lo[slot] == tag[1]
        )

    def remember(self, slot: int, tag: Tag, now: float, expires_at: float | None = None) -> None:
        """Trust `tag` for `ttl` seconds, never past the token's own expiry."""
        until = now + self.ttl
        self.restore(slot, tag, until if expires_at is None else min(until, expires_at))

    def restore(self, slot: int, tag: Tag, until: float) -> None:
        missing = slot + 1 - len(self.until)
        if missing > 0:
            # Slots are dense (the table appends), so this grows in step with the table.
            zeros = bytes(8 * missing)
            self.hi.frombytes(zeros)
            self.lo.frombytes(zeros)
            self.until.frombytes(zeros)
        self.hi[slot], self.lo[slot] = tag
        self.until[slot] = until

    def lapsed(self, slot: int, tag: Tag) -> bool:
        """The slot's trust in `tag` ran out by time (not revoked: `forget` zeroes it)."""
        return (
            slot < len(self.until)
            and self.until[slot] != 0.0
            and self.hi[slot] == tag[0]
            and self.lo[slot] == tag[1]
        )

    def snapshot(self, slot: int, now: float) -> tuple[str, float] | None:
        """(tag as hex, trusted until) when the slot holds a trusted tag, for checkpoints."""
        if slot >= len(self.until) or self.until[slot] <= now:
            return None
        return _TAG.pack(self.hi[slot], self.lo[slot]).hex(), self.until[slot]

    @staticmethod
    def parse(tag_hex: str) -> Tag:
        hi, lo = _TAG.unpack(bytes.fromhex(tag_hex))
        return hi, lo

    def forget(self, slot: int) -> None:
        self.generation += 1
        if slot < len(self.until):
            self.until[slot] = 0.0

    def forget_all(self) -> None:
        self.generation += 1
        self.until = array("d", bytes(8 * len(self.until)))


class RejectedTokens:
    """The token each agent was last refused with, for a short while.

    A misconfigured agent then cannot flood the registry. Short-lived and bounded (cleared
    when full); a registry event of the agent clears it too, so a token that just became
    valid (a registration) is not refused for long.
    """

    def __init__(self, ttl: float = 2.0, max_entries: int = 100_000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._refused: dict[str, tuple[Tag, float]] = {}

    def rejected(self, agent_id: str, tag: Tag, now: float) -> bool:
        refused = self._refused.get(agent_id)
        return refused is not None and refused[0] == tag and refused[1] > now

    def remember(self, agent_id: str, tag: Tag, now: float) -> None:
        if len(self._refused) >= self.max_entries:
            self._refused.clear()
        self._refused[agent_id] = (tag, now + self.ttl)

    def forget(self, agent_id: str) -> None:
        self._refused.pop(agent_id, None)

    def forget_all(self) -> None:
        self._refused.clear()
