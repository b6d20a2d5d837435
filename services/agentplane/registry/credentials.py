"""Seed 000 use cases on an agent's token and capabilities: rotation, capability sets, expiry.

They run on the `Registry` (its store, views, server key, clock and token lifetime) and, like
every registry use case, are synchronous: handlers call them through a thread.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from agentplane.contracts.agent_credentials import (
    AgentTokenRotated,
    CapabilitySet,
    ExpiringToken,
    ExpiringTokenList,
    FindAgentsByCapability,
    ListExpiringTokens,
    ReplaceCapabilities,
    RotateAgentToken,
)
from agentplane.contracts.agents import AgentList, ListAgents
from agentplane.contracts.errors import conflict, invalid, not_found, unauthorized
from agentplane.eventstore.paging import parse_position, position_token, scan, sort_key
from agentplane.registry.application import AGENT_TOKEN_PREFIX, Registry, RegistryStore
from agentplane.registry.domain import Agent
from agentplane.registry.projections import AGENT_EXPIRY
from agentplane.security import keyed_hash, matches, new_secret, public_prefix

# Only seed 000 agents hold an `agent_tok_` token; the other dialects keep their primary
# credential in the same place (JWT, device key, …) and rotate it their own way, so a
# rotation here would lock such an agent out of its own dialect.
ROTATABLE_DIALECTS = frozenset({"v1"})


def load_for_update(store: RegistryStore, agent_id: UUID) -> Agent:
    """A private copy of the agent for a command to change.

    The repository deep-copies cached aggregates (DEEPCOPY_FROM_AGGREGATE_CACHE in
    eventstore.application.store_env), so a command that loses a concurrent save leaves the
    cache as the store has it; concurrent commands conflict on save.
    """
    return store.repository.get(agent_id)


class AgentCredentials:
    """Token rotation, capability sets and token expiry of agents."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    # -- commands ---------------------------------------------------------------------------

    def rotate_token(self, cmd: RotateAgentToken) -> tuple[AgentTokenRotated, int]:
        """Replace the agent's token; the old one stops working with this save.

        Every failure is the same 401, so a caller without the token learns nothing about
        the agent. Of concurrent rotations with one token exactly one saves; the others
        conflict on the aggregate version and, their token now being the old one, get 401.
        """
        rejected = unauthorized("Invalid agent credentials")
        registry = self.registry
        now = registry.clock()
        try:
            agent = load_for_update(registry.store, cmd.agent_id)
        except AggregateNotFoundError:
            raise rejected from None
        if (
            agent.dialect not in ROTATABLE_DIALECTS
            or not matches(cmd.current_token, agent.token_hash, registry.key)
            or not agent.token_valid_at(now)
            or not agent.credential_usable(now)
        ):
            raise rejected
        token = new_secret(AGENT_TOKEN_PREFIX)
        expires_at = now + registry.agent_token_ttl
        agent.rotate_token(
            # The stored prefix is the public prefix of the token being replaced.
            old_token_prefix=agent.token_prefix,
            token_hash=keyed_hash(token, registry.key),
            token_prefix=public_prefix(token, AGENT_TOKEN_PREFIX),
            token_expires_at=expires_at,
        )
        try:
            position = registry._save(agent)
        except IntegrityError:
            raise rejected from None
        return AgentTokenRotated(
            agent_id=agent.id, new_token=token, expires_at=expires_at
        ), position

    def replace_capabilities(self, cmd: ReplaceCapabilities) -> tuple[CapabilitySet, int]:
        """Replace the capability set as a whole; an unchanged set records nothing."""
        try:
            agent = load_for_update(self.registry.store, cmd.agent_id)
        except AggregateNotFoundError:
            raise not_found("Agent not found") from None
        if agent.workspace_id != cmd.workspace_id or agent.deleted:
            raise not_found("Agent not found")
        if agent.terminated_at is not None:
            raise conflict("Agent is terminated")
        names = [c.name for c in cmd.capabilities]
        if len(set(names)) != len(names):
            # The gateway rejects this first; the check keeps the set a set for every caller.
            raise invalid("Capability names must be unique", field="capabilities")
        wanted = [c.model_dump(mode="json") for c in cmd.capabilities]
        position = 0
        if wanted != agent.capabilities:
            agent.replace_capabilities(wanted)
            try:
                position = self.registry._save(agent)
            except IntegrityError:
                raise conflict("Agent changed concurrently, try again") from None
        return CapabilitySet(agent_id=agent.id, capabilities=cmd.capabilities), position

    # -- queries ----------------------------------------------------------------------------

    def find_by_capability(self, query: FindAgentsByCapability) -> AgentList:
        """A page of the agents with a capability of exactly that name, oldest first."""
        return self.registry.list_agents(self._listing(query))

    def find_by_capability_encoded(self, query: FindAgentsByCapability) -> bytes:
        return self.registry.list_agents_encoded(self._listing(query))

    @staticmethod
    def _listing(query: FindAgentsByCapability) -> ListAgents:
        return ListAgents(
            workspace_id=query.workspace_id,
            after=query.after,
            limit=query.limit,
            capability=query.name,
        )

    def expiring_tokens(self, query: ListExpiringTokens) -> ExpiringTokenList:
        """A page of the agents whose token still works now but stops within the window,
        soonest first (the expiry index, read from now to the horizon).

        Already expired tokens are left out (they need a new agent token, not a rotation),
        as are agents that are deleted, terminated or whose credentials were revoked.
        """
        now = self.registry.clock()
        horizon = now + timedelta(seconds=query.within_seconds)
        # Strictly after now, whatever a cursor from earlier says.
        start = (sort_key(now), "\uffff")
        position = parse_position(query.after)
        after = position_token(*max(position, start) if position else start)
        with self.registry.views.read() as tx:
            page = scan(
                tx, AGENT_EXPIRY, query.workspace_id, after=after, limit=query.limit,
                max_bytes=self.registry.reply_budget, until=sort_key(horizon),
            )  # fmt: skip
        found = []
        for doc in page.docs:
            expires_at = datetime.fromisoformat(doc["token_expires_at"])
            found.append(
                ExpiringToken(
                    agent_id=UUID(doc["id"]),
                    name=doc.get("name"),
                    token_expires_at=expires_at,
                    hours_until_expiry=int((expires_at - now) // timedelta(hours=1)),
                )
            )
        return ExpiringTokenList(agents=found, next_after=page.next_after)
