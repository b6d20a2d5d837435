"""How agents join a workspace (seed 000): provisioned with a token, registered by id, or
enrolled with a one-time registration / enrollment token (seeds 002 and 003 use those)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.persistence import IntegrityError

from agentplane.contracts.agents import (
    AgentProvisioned,
    AgentRecord,
    EnrollmentKind,
    EnrollmentTokenIssued,
    GetAgent,
    IssueEnrollmentToken,
    ProvisionAgent,
    RegisterAgent,
)
from agentplane.contracts.errors import conflict, unauthorized
from agentplane.registry.agents import Agents
from agentplane.registry.application import Registry
from agentplane.registry.domain import (
    Agent,
    AgentAlreadyRegistered,
    EnrollmentToken,
    TokenMismatch,
    TokenNotUsable,
)
from agentplane.registry.domain.enrollment import enrollment_token_id
from agentplane.registry.projections import agent_doc
from agentplane.security import is_well_formed, keyed_hash, matches, new_secret, public_prefix

AGENT_TOKEN_PREFIX = "agent_tok_"
ENROLLMENT_PREFIXES = {
    EnrollmentKind.REGISTRATION: "ap_reg_",
    EnrollmentKind.ENROLLMENT: "ap_enr_",
}
ID_TAKEN = "Agent with this agentId already exists"


class Enrollment:
    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    def provision_agent(self, cmd: ProvisionAgent) -> tuple[AgentProvisioned, int]:
        registry = self.registry
        workspace = registry.workspace(cmd.workspace_id)

        def create() -> tuple[AgentProvisioned, list[Any]]:
            token = new_secret(AGENT_TOKEN_PREFIX)
            expires_at = registry.clock() + timedelta(seconds=cmd.ttl_seconds)
            agent = Agent.provision(
                uuid4(),
                cmd.workspace_id,
                cmd.client_type.value,
                cmd.name,
                cmd.label,
                keyed_hash(token, registry.key),
                public_prefix(token, AGENT_TOKEN_PREFIX),
                expires_at,
            )
            provisioned = AgentProvisioned(
                agent_id=agent.id,
                token=token,
                expires_at=expires_at,
                workspace_id=cmd.workspace_id,
                workspace_name=workspace["workspace_name"],
            )
            return provisioned, [agent]

        return registry.once(cmd.idempotency, AgentProvisioned, create)

    def register_agent(self, cmd: RegisterAgent) -> tuple[AgentRecord, int]:
        registry = self.registry
        registry.workspace(cmd.workspace_id)
        # A new id is saved without looking it up first: the store refuses a second first
        # event of the same id (IntegrityError), and only then is the agent loaded (a
        # provisioned agent completing its registration, or an id already taken).
        agent = Agent.register(
            cmd.agent_id,
            cmd.workspace_id,
            cmd.name,
            cmd.label,
            keyed_hash(cmd.token, registry.key),
            public_prefix(cmd.token, AGENT_TOKEN_PREFIX),
            registry.clock() + registry.agent_token_ttl,
        )
        # The answer is what the projection makes of the event: no read-back needed.
        record = AgentRecord.model_validate(agent_doc(agent.pending_events[0]))
        try:
            return record, registry.save(agent)
        except IntegrityError:
            pass
        existing: Agent | None = registry.load(cmd.agent_id)
        if existing is None:
            # Refused for another reason than the id (a concurrent save of the same id that
            # was then deleted cannot be: agents keep their stream).
            raise conflict(ID_TAKEN, field="agentId")
        if existing.workspace_id != cmd.workspace_id:
            # Another workspace's agent id: taken, without revealing whose it is.
            raise conflict(ID_TAKEN, field="agentId")
        try:
            existing.complete_registration(
                matches(cmd.token, existing.token_hash, registry.key)
                and existing.token_valid_at(registry.clock()),
                cmd.name,
                cmd.label,
            )
        except AgentAlreadyRegistered:
            raise conflict(ID_TAKEN, field="agentId") from None
        except TokenMismatch:
            raise unauthorized("Token does not match the provisioned agent") from None
        try:
            # A concurrent registration of the same id saved first: this one is the second.
            position = registry.save(existing)
        except IntegrityError:
            raise conflict(ID_TAKEN, field="agentId") from None
        record = Agents(registry).get_agent(
            GetAgent(workspace_id=cmd.workspace_id, agent_id=cmd.agent_id)
        )
        return record, position

    def issue_enrollment_token(
        self, cmd: IssueEnrollmentToken
    ) -> tuple[EnrollmentTokenIssued, int]:
        registry = self.registry
        registry.workspace(cmd.workspace_id)

        def create() -> tuple[EnrollmentTokenIssued, list[Any]]:
            prefix = ENROLLMENT_PREFIXES[cmd.kind]
            token = new_secret(prefix)
            expires_at = registry.clock() + timedelta(seconds=cmd.ttl_seconds)
            issued = EnrollmentToken.issue(
                keyed_hash(token, registry.key),
                cmd.workspace_id,
                cmd.kind.value,
                public_prefix(token, prefix),
                expires_at,
            )
            answer = EnrollmentTokenIssued(token=token, kind=cmd.kind, expires_at=expires_at)
            return answer, [issued]

        return registry.once(cmd.idempotency, EnrollmentTokenIssued, create)


def use_enrollment_token(
    registry: Registry, token: str, kind: EnrollmentKind, agent_id: UUID
) -> EnrollmentToken:
    """The token, marked used by `agent_id`; save it together with the new agent.

    Saving both in one `save` makes the use exactly-once: a concurrent use of the same token
    conflicts on the token's version and is rejected.
    """
    invalid_token = unauthorized("Invalid or expired registration token")
    if not is_well_formed(token, ENROLLMENT_PREFIXES[kind]):
        raise invalid_token
    issued: EnrollmentToken | None = registry.load(
        enrollment_token_id(keyed_hash(token, registry.key))
    )
    if issued is None:
        raise invalid_token
    try:
        issued.use(kind.value, agent_id, registry.clock())
    except TokenNotUsable:
        raise invalid_token from None
    return issued
