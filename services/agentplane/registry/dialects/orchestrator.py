"""Orchestrator agent use cases (seed 002) on the registry.

An orchestrator agent is an enrolled agent of dialect `orchestrator`. It registers once with a
single-use registration token and receives two credentials, both recorded on the agent as
`CredentialIssued` (never their secrets): a bearer JWT (its `jti`) and a client certificate of
the internal CA (its serial). Every use of either is checked against the agent aggregate, so
deleting the agent stops all of them at once. Names are claimed with the `AgentName`
aggregate saved together with the agent, so "409 name already registered" is exact under
concurrency; one name per workspace across the named dialects (orchestrator and PAP).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

from agentplane.contracts.agents import AgentIdentity, AgentRecord, EnrollmentKind, GetAgent
from agentplane.contracts.errors import forbidden, invalid, not_found, unauthorized, unavailable
from agentplane.contracts.orchestrator import (
    ORCHESTRATOR_DIALECT,
    AuthenticateOrchestratorCertificate,
    AuthenticateOrchestratorToken,
    DeleteOrchestratorAgent,
    OrchestratorAgentDeleted,
    OrchestratorAgentRegistered,
    OrchestratorCertificate,
    OrchestratorCertificateRenewal,
    OrchestratorConfig,
    OrchestratorHeartbeatSynced,
    RegisterOrchestratorAgent,
    RenewOrchestratorCertificate,
    SyncOrchestratorHeartbeat,
    UpdateOrchestratorAgent,
)
from agentplane.registry.agents import Agents
from agentplane.registry.application import Registry
from agentplane.registry.capabilities import kept_metadata, reported_change, unique
from agentplane.registry.domain import Agent
from agentplane.registry.domain.credential import (
    credential_live,
    issue_credential,
    revoke_all_credentials,
)
from agentplane.registry.domain.orchestrator_status import REPORTED_STATUS
from agentplane.registry.enrollment import use_enrollment_token
from agentplane.registry.names import claim_name, released_name_claim
from agentplane.security import keyed_hash
from agentplane.security.ca import (
    CertificateAuthority,
)
from agentplane.security.certificates import (
    CertificateRejected,
    IssuedCertificate,
    common_name,
    serial_hex,
)
from agentplane.security.jwt_tokens import AgentJwtSigner, InvalidAgentJwt

NAME_TAKEN = "Agent name already registered"
AGENT_NOT_FOUND = "Agent not found"
INVALID_TOKEN = "Invalid or expired token"
INVALID_CERTIFICATE = "Invalid, expired or revoked client certificate"
JWT = "jwt"
CERTIFICATE = "certificate"
# Registration attempts: a parallel registration with the same token or name that saved first
# is answered by looking again (401 for the used token, 409 for the taken name).
_RETRIES = 3


def _changing() -> Exception:
    return unavailable("Agent is changing concurrently, try again")


def _certificate(issued: IssuedCertificate) -> OrchestratorCertificate:
    return OrchestratorCertificate(
        cert=issued.cert_pem, ca=issued.ca_pem, serial=issued.serial, expires_at=issued.expires_at
    )


class OrchestratorAgents:
    """Seed 002 use cases; commands return `(result, last_notification_id)` like `Registry`."""

    def __init__(
        self,
        registry: Registry,
        ca: CertificateAuthority,
        jwts: AgentJwtSigner,
        config: OrchestratorConfig,
        *,
        cert_validity: timedelta = timedelta(hours=24),
        renew_before: timedelta = timedelta(hours=1),
    ) -> None:
        self.registry = registry
        self.ca = ca
        self.jwts = jwts
        self.config = config
        self.cert_validity = cert_validity
        self.renew_before = renew_before

    def _orchestrator_agent(self, workspace_id: str, agent_id: UUID) -> Agent:
        """A private copy of a live orchestrator agent of the workspace, else 404."""
        agent: Agent | None = self.registry.load(agent_id)
        if (
            agent is None
            or agent.workspace_id != workspace_id
            or agent.deleted
            or agent.dialect != ORCHESTRATOR_DIALECT
        ):
            raise not_found(AGENT_NOT_FOUND)
        return agent

    # -- registration ----------------------------------------------------------------------

    def register(self, cmd: RegisterOrchestratorAgent) -> tuple[OrchestratorAgentRegistered, int]:
        # With an Idempotency-Key a retry gets the first answer, even though the one-time
        # token is used by then; a parallel registration that saved first is looked at again
        # (401 for the used token, 409 for the taken name).
        return self.registry.update(
            lambda: self._register_once(cmd),
            lambda: unavailable("Registration is contended, try again"),
            attempts=_RETRIES,
        )

    def _register_once(
        self, cmd: RegisterOrchestratorAgent
    ) -> tuple[OrchestratorAgentRegistered, list[Any]]:
        first = self.registry.replay(cmd.idempotency, OrchestratorAgentRegistered)
        if first is not None:
            return first, []
        registered, aggregates = self._registration(cmd)
        return registered, [*aggregates, *self.registry.answer_record(cmd.idempotency, registered)]

    def _registration(
        self, cmd: RegisterOrchestratorAgent
    ) -> tuple[OrchestratorAgentRegistered, list[Any]]:
        """The answer and the aggregates of one registration, not saved yet."""
        agent_id = uuid4()
        # First the token (401), then the name (409): without a valid token nobody learns
        # which names exist.
        token = use_enrollment_token(
            self.registry, cmd.registration_token, EnrollmentKind.REGISTRATION, agent_id
        )
        workspace_id = token.workspace_id
        claim = claim_name(self.registry, workspace_id, cmd.name, agent_id, NAME_TAKEN)
        now = self.registry.clock()
        jwt = self.jwts.issue(str(agent_id), workspace_id, now)
        try:
            cert = self.ca.issue_client(
                str(agent_id), now, public_key=cmd.public_key_pem, validity=self.cert_validity
            )
        except CertificateRejected as exc:
            raise invalid(f"Cannot certify the public key: {exc}") from None
        agent = Agent.enroll(
            agent_id,
            workspace_id,
            ORCHESTRATOR_DIALECT,
            cmd.name,
            None,
            # The JWT is the agent's primary credential; only its keyed hash is kept.
            keyed_hash(jwt.token, self.registry.key),
            f"jwt_{jwt.jti[:8]}",
            jwt.expires_at,
            {"version": cmd.version, "labels": dict(cmd.labels)},
        )
        if cmd.capabilities:
            agent.replace_capabilities(
                [{"name": name, "metadata": {}} for name in unique(cmd.capabilities)]
            )
        issue_credential(agent, JWT, jwt.jti, None, None, jwt.expires_at)
        issue_credential(agent, CERTIFICATE, cert.serial, None, None, cert.expires_at)
        registered = OrchestratorAgentRegistered(
            agent_id=agent_id,
            workspace_id=workspace_id,
            token=jwt.token,
            token_expires_at=jwt.expires_at,
            config=self.config,
            certificate=_certificate(cert),
            private_key_pem=cmd.private_key_pem if cmd.idempotency else None,
        )
        return registered, [token, claim, agent]

    # -- authentication --------------------------------------------------------------------

    def authenticate_token(self, query: AuthenticateOrchestratorToken) -> AgentIdentity:
        now = self.registry.clock()
        try:
            claims = self.jwts.verify(query.token, now)
            agent_id = UUID(claims.agent_id)
        except (InvalidAgentJwt, ValueError):
            raise unauthorized(INVALID_TOKEN) from None
        agent: Agent | None = self.registry.load(agent_id, to_change=False)
        if (
            agent is None
            or agent.workspace_id != claims.workspace_id
            or not credential_live(agent, JWT, claims.jti, now)
        ):
            raise unauthorized(INVALID_TOKEN)
        return AgentIdentity(agent_id=agent.id, workspace_id=agent.workspace_id)

    def authenticate_certificate(self, query: AuthenticateOrchestratorCertificate) -> AgentIdentity:
        """For a certificate whose chain the TLS terminator already verified: is it revoked?"""
        agent: Agent | None = self.registry.load(query.agent_id, to_change=False)
        if agent is None or not credential_live(
            agent, CERTIFICATE, query.serial.lower(), self.registry.clock()
        ):
            raise unauthorized(INVALID_CERTIFICATE)
        return AgentIdentity(agent_id=agent.id, workspace_id=agent.workspace_id)

    # -- changes ---------------------------------------------------------------------------

    def update(self, cmd: UpdateOrchestratorAgent) -> tuple[AgentRecord, int]:
        def attempt() -> tuple[None, list[Agent]]:
            agent = self._orchestrator_agent(cmd.workspace_id, cmd.agent_id)
            labels = agent.attributes.get("labels") or {}
            if cmd.labels is not None and dict(cmd.labels) != labels:
                agent.update_attributes({"labels": dict(cmd.labels)})
            if cmd.capabilities is not None:
                wanted = kept_metadata(agent, cmd.capabilities)
                if wanted != agent.capabilities:
                    agent.replace_capabilities(wanted)
            return None, [agent]

        _, position = self.registry.update(attempt, _changing, attempts=_RETRIES)
        record = Agents(self.registry).get_agent(
            GetAgent(workspace_id=cmd.workspace_id, agent_id=cmd.agent_id)
        )
        return record, position

    def delete(self, cmd: DeleteOrchestratorAgent) -> tuple[OrchestratorAgentDeleted, int]:
        def attempt() -> tuple[OrchestratorAgentDeleted, list[Any]]:
            agent = self._orchestrator_agent(cmd.workspace_id, cmd.agent_id)
            revoke_all_credentials(agent, "agent deleted")
            agent.delete()
            claims = released_name_claim(self.registry, agent)
            return OrchestratorAgentDeleted(agent_id=agent.id), [agent, *claims]

        return self.registry.update(attempt, _changing, attempts=_RETRIES)

    def sync_heartbeat(
        self, cmd: SyncOrchestratorHeartbeat
    ) -> tuple[OrchestratorHeartbeatSynced, int]:
        """Record what a heartbeat reports when it differs from what is recorded: the status
        (only its changes become events, so the list can tell `degraded` without reading
        telemetry) and the capability set. Most heartbeats change nothing and save nothing."""

        def attempt() -> tuple[OrchestratorHeartbeatSynced, list[Agent]]:
            # Most heartbeats change nothing: compare on the cached agent, copy only to change.
            current: Agent | None = self.registry.load(cmd.agent_id, to_change=False)
            if (
                current is None
                or current.workspace_id != cmd.workspace_id
                or current.deleted
                or current.dialect != ORCHESTRATOR_DIALECT
            ):
                raise not_found(AGENT_NOT_FOUND)
            status_changed = current.attributes.get(REPORTED_STATUS) != cmd.status
            wanted = reported_change(current, cmd.capabilities)
            if not status_changed and wanted is None:
                return OrchestratorHeartbeatSynced(), []
            agent = self._orchestrator_agent(cmd.workspace_id, cmd.agent_id)
            if status_changed:
                agent.update_attributes({REPORTED_STATUS: cmd.status})
            if wanted is not None:
                agent.replace_capabilities(wanted)
            synced = OrchestratorHeartbeatSynced(
                status_changed=status_changed, capabilities_changed=wanted is not None
            )
            return synced, [agent]

        return self.registry.update(attempt, _changing, attempts=_RETRIES)

    def renew_certificate(
        self, cmd: RenewOrchestratorCertificate
    ) -> tuple[OrchestratorCertificateRenewal, int]:
        """Issue a new certificate for the same key when the current one expires within the
        renewal window, and record its serial on the agent; otherwise no renewal."""
        now = self.registry.clock()
        try:
            cert = self.ca.verify(cmd.cert_pem, now)
        except CertificateRejected:
            raise unauthorized(INVALID_CERTIFICATE) from None
        if common_name(cert) != str(cmd.agent_id):
            raise forbidden("Certificate belongs to another agent")

        def attempt() -> tuple[OrchestratorCertificateRenewal, list[Agent]]:
            agent: Agent | None = self.registry.load(cmd.agent_id)
            if agent is None or not credential_live(agent, CERTIFICATE, serial_hex(cert), now):
                raise unauthorized(INVALID_CERTIFICATE)
            renewed = self.ca.renew_if_due(
                cmd.cert_pem, now, renew_before=self.renew_before, validity=self.cert_validity
            )
            if renewed is None:
                return OrchestratorCertificateRenewal(renewal=None), []
            issue_credential(agent, CERTIFICATE, renewed.serial, None, None, renewed.expires_at)
            return OrchestratorCertificateRenewal(renewal=_certificate(renewed)), [agent]

        return self.registry.update(attempt, _changing, attempts=_RETRIES)
