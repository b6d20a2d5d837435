"""Public ids of the messaging aggregates: a kind prefix and the aggregate id's hex."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID


def public_id(prefix: str, aggregate_id: UUID) -> str:
    return prefix + aggregate_id.hex


def aggregate_id(prefix: str, public: str) -> UUID | None:
    """The aggregate id behind `<prefix><hex>`, or None for anything else."""
    if not public.startswith(prefix):
        return None
    try:
        return UUID(hex=public[len(prefix) :])
    except ValueError:
        return None


def time_ordered_uuid(at: datetime, entropy: bytes) -> UUID:
    """A version 7 UUID (RFC 9562): the milliseconds of `at`, then 74 bits of `entropy`
    (10 random bytes, of which 6 bits are dropped).

    For ids that are keys of indexes written at a high rate: ids made at about the same time
    sort together, so a batch's inserts land in the last pages of the event store's and the
    views' indexes instead of one random page each. 74 random bits keep them unguessable.
    """
    ms = int(at.timestamp() * 1000) & _MS_MASK
    bits = int.from_bytes(entropy[:10], "big")
    rand_a, rand_b = (bits >> 62) & 0xFFF, bits & _RAND_B_MASK
    return UUID(int=(ms << 80) | (0x7 << 76) | (rand_a << 64) | (0b10 << 62) | rand_b)


_MS_MASK = (1 << 48) - 1
_RAND_B_MASK = (1 << 62) - 1
