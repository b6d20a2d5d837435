"""Who may connect to NATS as an agent: the registry's own credential checks, per dialect.

An agent connects with user = its id and password = the credential of its dialect: the
seed 000 agent token, the seed 003 device API key, or the seed 002 bearer JWT. The agent's
dialect decides which check runs, so a credential never works outside its own rules (a
device key past its rotation grace, a JWT whose `jti` was revoked). Synchronous like every
registry use case; commands return `(result, last_notification_id)` (a device key's first
use completes its rotation, a write).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from pydantic import ValidationError

from agentplane.contracts.device import AuthenticateDevice
from agentplane.contracts.errors import ServiceError, unauthorized
from agentplane.contracts.orchestrator import ORCHESTRATOR_DIALECT, AuthenticateOrchestratorToken
from agentplane.registry.application import Registry
from agentplane.registry.credentials import AgentCredentials
from agentplane.registry.dialects.device import DIALECT as DEVICE_DIALECT
from agentplane.registry.dialects.device import DeviceAgents
from agentplane.registry.dialects.orchestrator import OrchestratorAgents
from agentplane.registry.domain import Agent
from agentplane.registry.nats_auth.callout import AuthRequest
from agentplane.security.jwt_tokens import InvalidAgentJwt

SEED_000_DIALECT = "v1"
# Longer passwords are no credential of ours; refuse them before any work.
MAX_PASSWORD = 4096


class NotAdmitted(Exception):
    """The connection is refused; the message is safe to log (it names no secret)."""


@dataclass(frozen=True)
class Admission:
    """An admitted agent connection: its canonical id, dialect, and when it must end."""

    agent_id: str
    dialect: str
    expires_at: datetime | None


def _agent_id(user: str | None) -> UUID:
    if not user:
        raise NotAdmitted("no user")
    try:
        return UUID(user)
    except ValueError:
        raise NotAdmitted("user is not an agent id") from None


class NatsAdmission:
    """Answers "may this agent connect, and until when" with the dialects' own checks."""

    def __init__(
        self, registry: Registry, device: DeviceAgents, orchestrator: OrchestratorAgents
    ) -> None:
        self.registry = registry
        self.device = device
        self.orchestrator = orchestrator
        self.tokens = AgentCredentials(registry)

    def _agent(self, agent_id: UUID) -> Agent:
        # Only read: no private copy of the cached aggregate needed. Loaded once per connect
        # (a storm of connects is bound by these reads).
        agent: Agent | None = self.registry.load(agent_id, to_change=False)
        if agent is None:
            raise NotAdmitted("unknown agent")
        return agent

    def admit(self, request: AuthRequest) -> tuple[Admission, int]:
        """Check the credential; raise `NotAdmitted` with a loggable reason when it fails."""
        agent_id = _agent_id(request.user)
        password = request.password
        # An empty or missing password never reaches a comparison (no None == None).
        if not password or len(password) > MAX_PASSWORD:
            raise NotAdmitted("no password")
        agent = self._agent(agent_id)
        dialect = agent.dialect
        try:
            if dialect == SEED_000_DIALECT:
                identity = self.tokens.check_agent_token(agent, password)
                return Admission(str(agent_id), dialect, identity.token_expires_at), 0
            if dialect == DEVICE_DIALECT:
                device, position = self.device.authenticate(
                    AuthenticateDevice(agent_id=agent_id, api_key=password)
                )
                # An old key in its grace stops working then, without any event.
                return Admission(str(agent_id), dialect, device.key_expires_at), position
            if dialect == ORCHESTRATOR_DIALECT:
                return self._admit_jwt(agent_id, password), 0
        except (ServiceError, ValidationError):
            raise NotAdmitted(f"invalid {dialect} credential") from None
        raise NotAdmitted(f"{dialect} agents have no NATS credential")

    def _admit_jwt(self, agent_id: UUID, token: str) -> Admission:
        identity = self.orchestrator.authenticate_token(AuthenticateOrchestratorToken(token=token))
        # A live JWT of another agent is no credential for this one.
        if identity.agent_id != agent_id:
            raise unauthorized("token of another agent")
        try:
            claims = self.orchestrator.jwts.verify(token, self.registry.clock())
        except InvalidAgentJwt:
            raise unauthorized("token expired") from None
        return Admission(str(agent_id), ORCHESTRATOR_DIALECT, claims.expires_at)
