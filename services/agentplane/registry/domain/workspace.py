"""The Workspace aggregate: a tenant with its API keys."""

from __future__ import annotations

from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

_WORKSPACE_NS = uuid5(NAMESPACE_URL, "agentplane:workspace")


def workspace_uuid(name: str) -> UUID:
    """Deterministic id per name, so a second create of the same name conflicts in the store."""
    return uuid5(_WORKSPACE_NS, name)


def external_id(aggregate_id: UUID) -> str:
    return f"ws_{aggregate_id.hex}"


def aggregate_id(workspace_id: str) -> UUID | None:
    """The aggregate id of an external `ws_…` id; None when it is not one."""
    if not workspace_id.startswith("ws_"):
        return None
    try:
        return UUID(hex=workspace_id[3:])
    except ValueError:
        return None


class Workspace(Aggregate):
    """A tenant. Its API key is kept only as a keyed hash."""

    TOPIC = "registry.Workspace"

    class Created(Aggregate.Created):
        TOPIC = "workspace.Created"
        PRIVATE = frozenset({"api_key_hash"})
        name: str
        tier: str
        api_key_hash: str
        api_key_prefix: str

    @event(Created)
    def __init__(self, name: str, tier: str, api_key_hash: str, api_key_prefix: str) -> None:
        self.name = name
        self.tier = tier
        self.api_key_hashes = [api_key_hash]
        self.api_key_prefix = api_key_prefix

    @classmethod
    def create(cls, name: str, tier: str, api_key_hash: str, api_key_prefix: str) -> Workspace:
        return cls._create(
            cls.Created,
            id=workspace_uuid(name),
            name=name,
            tier=tier,
            api_key_hash=api_key_hash,
            api_key_prefix=api_key_prefix,
        )
