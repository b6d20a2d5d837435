"""PAP agent use cases (seed 004) on the registry: create, list, details, terminate.

A PAP agent is an enrolled agent of dialect `pap`; it shows in every fleet view. Its name is
claimed by an `AgentName` aggregate saved together with the agent, which makes the
per-workspace uniqueness exact under concurrency and frees the name on termination.

The registry knows only what it decides: NEW until terminated, TERMINATED after. The state
machine (ACTIVE, UNHEALTHY, …), `activated_at` and the history live in the lifecycle service,
whose answer the gateway lays over this one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.persistence import IntegrityError

from agentplane.contracts.agent_states import NEW, TERMINATED
from agentplane.contracts.errors import conflict, invalid, not_found, unavailable
from agentplane.contracts.pap import (
    PAP_DIALECT,
    CreatePapAgent,
    GetPapAgent,
    ListPapAgents,
    PapAgent,
    PapAgentCreated,
    PapAgentDetails,
    PapAgentList,
    PapAgentTerminated,
    PapResources,
    TerminatePapAgent,
)
from agentplane.contracts.quantities import quantity
from agentplane.registry.application import Registry
from agentplane.registry.domain import Agent
from agentplane.registry.domain.pap_placement import KUBERNETES_NAMESPACE
from agentplane.registry.names import claim_name, released_name_claim
from agentplane.registry.projections import AGENT
from agentplane.security import keyed_hash, new_secret

NAME_TAKEN = "Agent with this name already exists"
AGENT_NOT_FOUND = "Agent not found"
# PAP agents authenticate with their workspace key; their own token is an unguessable secret
# that is never shown, so no other dialect's agent endpoint accepts them.
UNUSED_TOKEN_PREFIX = "pap_unused_"


def check_resources(resources: PapResources) -> None:
    """Kubernetes refuses a request above its limit; refuse it here, not at deployment."""
    for kind in ("cpu", "memory"):
        request, limit = getattr(resources, f"{kind}_request"), getattr(resources, f"{kind}_limit")
        if quantity(request) > quantity(limit):
            raise invalid(
                f"resources.{kind}_request must not exceed resources.{kind}_limit",
                field=f"resources.{kind}_request",
            )


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def pap_agent(doc: dict[str, Any]) -> PapAgent:
    """The seed 004 form of an agent view document."""
    attributes = doc.get("attributes", {})
    return PapAgent(
        uuid=doc["id"],
        name=doc["name"],
        dns_name=attributes["dns_name"],
        state=TERMINATED if doc.get("terminated_at") else NEW,
        kubernetes_namespace=attributes["kubernetes_namespace"],
        kubernetes_deployment=attributes["kubernetes_deployment"],
        created_at=doc["created_at"],
        provisioned_at=_time(attributes.get("provisioned_at")),
        terminated_at=_time(doc.get("terminated_at")),
        metadata={
            "description": attributes.get("description"),
            "image": attributes["image"],
            "resources": attributes["resources"],
        },
    )


class PapAgents:
    """Seed 004 use cases; commands return `(result, last_notification_id)` like `Registry`."""

    def __init__(self, registry: Registry, agent_domain: str) -> None:
        self.registry = registry
        self.agent_domain = agent_domain

    def _doc(self, workspace_id: str, agent_id: UUID) -> dict[str, Any]:
        with self.registry.views.read() as tx:
            doc = tx.get(AGENT, str(agent_id))
        if doc is None or doc["workspace_id"] != workspace_id or doc.get("dialect") != PAP_DIALECT:
            raise not_found(AGENT_NOT_FOUND)
        return doc

    def create(self, cmd: CreatePapAgent) -> tuple[PapAgentCreated, int]:
        self.registry.workspace(cmd.workspace_id)
        check_resources(cmd.resources)
        try:
            # With an Idempotency-Key a retry gets the first answer instead of 409.
            return self.registry.once(cmd.idempotency, PapAgentCreated, lambda: self._new(cmd))
        except IntegrityError:
            # A parallel create of the same name saved its claim first.
            raise conflict(NAME_TAKEN, field="name") from None

    def _new(self, cmd: CreatePapAgent) -> tuple[PapAgentCreated, list[Any]]:
        """The answer and the aggregates of one create, not saved yet."""
        agent_id = uuid4()
        claim = claim_name(self.registry, cmd.workspace_id, cmd.name, agent_id, NAME_TAKEN)
        attributes = {
            "dns_name": f"{cmd.name}.{self.agent_domain}",
            "kubernetes_namespace": KUBERNETES_NAMESPACE,
            "kubernetes_deployment": cmd.name,
            "description": cmd.description,
            "image": cmd.image,
            "resources": cmd.resources.model_dump(),
        }
        agent = Agent.enroll(
            agent_id,
            cmd.workspace_id,
            PAP_DIALECT,
            cmd.name,
            None,
            keyed_hash(new_secret(UNUSED_TOKEN_PREFIX), self.registry.key),
            "",
            None,
            attributes,
        )
        # The document the view will hold (projections.agent_doc), built before the save so
        # the answer can be stored with it.
        doc = {
            "id": str(agent_id),
            "name": cmd.name,
            "attributes": attributes,
            "created_at": agent.created_on.isoformat(),
        }
        return PapAgentCreated(agent=pap_agent(doc)), [claim, agent]

    def list(self, query: ListPapAgents) -> PapAgentList:
        page = self.registry.page_agents(
            query.workspace_id,
            query.after,
            query.limit,
            lambda d: d.get("dialect") == PAP_DIALECT and not d.get("deleted"),
        )
        return PapAgentList(agents=[pap_agent(d) for d in page.docs], next_after=page.next_after)

    def get(self, query: GetPapAgent) -> PapAgentDetails:
        return PapAgentDetails(agent=pap_agent(self._doc(query.workspace_id, query.agent_id)))

    def terminate(
        self, cmd: TerminatePapAgent, at: datetime | None = None
    ) -> tuple[PapAgentTerminated, int]:
        """A user's delete, or (`at`: when) the control plane's kill of the agent."""
        self._doc(cmd.workspace_id, cmd.agent_id)

        def attempt() -> tuple[bool, list[Any]]:
            agent: Agent | None = self.registry.load(cmd.agent_id)
            if agent is None:
                raise not_found(AGENT_NOT_FOUND)
            if agent.terminated_at is not None:
                # Deleting twice is harmless: same answer, no second event.
                return True, []
            agent.terminate(at or self.registry.clock())
            return False, [agent, *released_name_claim(self.registry, agent)]

        already, position = self.registry.update(
            attempt, lambda: unavailable("Agent is changing concurrently, try again"), attempts=3
        )
        return self._terminated(cmd, already=already), position

    def _terminated(self, cmd: TerminatePapAgent, already: bool) -> PapAgentTerminated:
        if already:
            # Another replica may have saved the termination; make this view include it.
            self.registry.projector.catch_up()
        agent = pap_agent(self._doc(cmd.workspace_id, cmd.agent_id))
        return PapAgentTerminated(agent=agent, already=already)
