"""Seed 000 agent tokens: checking one, rotating it, and the tokens about to expire.

(Device keys, orchestrator JWTs and certificates are checked in `dialects/`; which check a
NATS or channel connection gets is decided in `nats_auth/admission`.)
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from agentplane.contracts.agent_credentials import (
    AgentTokenRotated,
    ExpiringToken,
    ExpiringTokenList,
    ListExpiringTokens,
    RotateAgentToken,
)
from agentplane.contracts.agents import AgentIdentity, AuthenticateAgent
from agentplane.contracts.errors import unauthorized
from agentplane.eventstore.paging import parse_position, position_token, scan, sort_key
from agentplane.registry.application import Registry
from agentplane.registry.domain import Agent
from agentplane.registry.enrollment import AGENT_TOKEN_PREFIX
from agentplane.registry.projections import AGENT_EXPIRY
from agentplane.security import keyed_hash, matches, new_secret, public_prefix

INVALID = "Invalid agent credentials"

# Only seed 000 agents hold an `agent_tok_` token; the other dialects keep their primary
# credential in the same place (JWT, device key, …) and rotate it their own way, so a
# rotation here would lock such an agent out of its own dialect.
ROTATABLE_DIALECTS = frozenset({"v1"})


class AgentCredentials:
    """Seed 000 token checks, rotation and expiry."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    # -- commands ---------------------------------------------------------------------------

    def authenticate_agent(self, query: AuthenticateAgent) -> AgentIdentity:
        agent: Agent | None = self.registry.load(query.agent_id, to_change=False)
        if agent is None:
            raise unauthorized(INVALID)
        return self.check_agent_token(agent, query.token)

    def check_agent_token(self, agent: Agent, token: str) -> AgentIdentity:
        """The agent's identity if `token` is its live token (the agent is only read)."""
        registry = self.registry
        if (
            not matches(token, agent.token_hash, registry.key)
            or not agent.token_valid_at(registry.clock())
            or not agent.credential_usable(registry.clock())
        ):
            raise unauthorized(INVALID)
        return AgentIdentity(
            agent_id=agent.id,
            workspace_id=agent.workspace_id,
            token_expires_at=agent.token_expires_at,
        )

    def rotate_token(self, cmd: RotateAgentToken) -> tuple[AgentTokenRotated, int]:
        """Replace the agent's token; the old one stops working with this save.

        Every failure is the same 401, so a caller without the token learns nothing about
        the agent. Of concurrent rotations with one token exactly one saves; the others
        conflict on the aggregate version and, looking again, find their token is now the
        old one: 401.
        """
        registry = self.registry

        def attempt() -> tuple[AgentTokenRotated, list[Any]]:
            now = registry.clock()
            agent: Agent | None = registry.load(cmd.agent_id)
            if (
                agent is None
                or agent.dialect not in ROTATABLE_DIALECTS
                or not matches(cmd.current_token, agent.token_hash, registry.key)
                or not agent.token_valid_at(now)
                or not agent.credential_usable(now)
            ):
                raise unauthorized(INVALID)
            token = new_secret(AGENT_TOKEN_PREFIX)
            expires_at = now + registry.agent_token_ttl
            agent.rotate_token(
                # The stored prefix is the public prefix of the token being replaced.
                old_token_prefix=agent.token_prefix,
                token_hash=keyed_hash(token, registry.key),
                token_prefix=public_prefix(token, AGENT_TOKEN_PREFIX),
                token_expires_at=expires_at,
            )
            rotated = AgentTokenRotated(agent_id=agent.id, new_token=token, expires_at=expires_at)
            return rotated, [agent]

        return registry.update(attempt, lambda: unauthorized(INVALID))

    # -- queries ----------------------------------------------------------------------------

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
