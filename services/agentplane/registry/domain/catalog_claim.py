"""Claims on what must be unique in the service catalog: a service name in its workspace, a
tunnel port system-wide, a public subdomain system-wide.

A claim's id is derived from what it claims, so two first claims of the same thing conflict in
the event store and exactly one lands; a taken claim refuses another holder until released.
"""

from __future__ import annotations

from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate

_NS = uuid5(NAMESPACE_URL, "agentplane:catalog-claim")

SERVICE_NAME = "service-name"
TUNNEL_PORT = "tunnel-port"
SUBDOMAIN = "subdomain"


def claim_id(kind: str, key: str) -> UUID:
    return uuid5(_NS, f"{kind}/{key}")


def name_key(workspace_id: str, name: str) -> str:
    return f"{workspace_id}/{name}"


class ClaimTaken(Exception):
    """Another holder has it."""


class CatalogClaim(Aggregate):
    """Who holds one name, port or subdomain (None when released)."""

    TOPIC = "registry.CatalogClaim"

    class Created(Aggregate.Created):
        TOPIC = "catalog_claim.Taken"
        kind: str
        key: str
        holder: str

    class Retaken(Aggregate.Event):
        TOPIC = "catalog_claim.Retaken"
        holder: str

        def apply(self, aggregate: Aggregate) -> None:
            aggregate.holder = self.holder  # type: ignore[attr-defined]

    class Released(Aggregate.Event):
        TOPIC = "catalog_claim.Released"
        holder: str

        def apply(self, aggregate: Aggregate) -> None:
            aggregate.holder = None  # type: ignore[attr-defined]

    def __init__(self, kind: str, key: str, holder: str) -> None:
        self.kind = kind
        self.key = key
        self.holder: str | None = holder

    @classmethod
    def take(cls, kind: str, key: str, holder: str) -> CatalogClaim:
        return cls._create(cls.Created, id=claim_id(kind, key), kind=kind, key=key, holder=holder)

    def retake(self, holder: str) -> None:
        if self.holder == holder:
            return
        if self.holder is not None:
            raise ClaimTaken(self.key)
        self.trigger_event(self.Retaken, holder=holder)

    def release(self, holder: str) -> None:
        if self.holder == holder:
            self.trigger_event(self.Released, holder=holder)
