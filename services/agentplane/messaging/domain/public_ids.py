"""Public ids of the messaging aggregates: a kind prefix and the aggregate id's hex."""

from __future__ import annotations

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
