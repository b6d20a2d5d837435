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

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from agentplane.contracts.agents import AgentIdentity, AgentRecord, EnrollmentKind, GetAgent
from agentplane.contracts.errors import (
    conflict,
    forbidden,
    invalid,
    not_found,
    unauthorized,
    unavailable,
)
from agentplane.contracts.orchestrator import (
    ORCHESTRATOR_DIALECT,
    REPORTED_STATUS,
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
from agentplane.registry.application import Registry
from agentplane.registry.domain import Agent
from agentplane.registry.domain.agent_name import AgentName, NameTaken, agent_name_id
from agentplane.security import keyed_hash
from agentplane.security.ca import (
    CertificateAuthority,
    CertificateRejected,
    IssuedCertificate,
    common_name,
    serial_hex,
)
from agentplane.security.jwt_tokens import AgentJwtSigner, InvalidAgentJwt, jwt_signing_key
from agentplane.settings import Settings

NAME_TAKEN = "Agent name already registered"
AGENT_NOT_FOUND = "Agent not found"
INVALID_TOKEN = "Invalid or expired token"
INVALID_CERTIFICATE = "Invalid, expired or revoked client certificate"
JWT = "jwt"
CERTIFICATE = "certificate"
_RETRIES = 3


def _unique(names: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(names))


def _certificate(issued: IssuedCertificate) -> OrchestratorCertificate:
    return OrchestratorCertificate(
        cert=issued.cert_pem, ca=issued.ca_pem, serial=issued.serial, expires_at=issued.expires_at
    )


def credential_live(agent: Agent, kind: str, credential_id: str, now: datetime) -> bool:
    """The credential was issued to this agent, is unexpired, and nothing revoked it."""
    if agent.deleted or not agent.credential_usable(now):
        return False
    credential = agent.credentials.get(credential_id)
    if credential is None or credential["kind"] != kind or credential["revoked"]:
        return False
    expires_at: datetime | None = credential["expires_at"]
    return expires_at is None or now < expires_at


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

    # -- loading ---------------------------------------------------------------------------

    def _copy(self, aggregate_id: UUID) -> Any:
        # The repository hands out copies of cached aggregates (DEEPCOPY_FROM_AGGREGATE_CACHE,
        # see eventstore.application.store_env): a command whose save conflicts leaves no trace.
        return self.registry.store.repository.get(aggregate_id)

    def _agent(self, agent_id: UUID) -> Agent | None:
        """The agent for a read-only check (no copy)."""
        try:
            agent: Agent = self.registry.store.repository.get(agent_id)
        except AggregateNotFoundError:
            return None
        return agent

    def _orchestrator_agent(self, workspace_id: str, agent_id: UUID) -> Agent:
        """A private copy of a live orchestrator agent of the workspace, else 404."""
        try:
            agent: Agent = self._copy(agent_id)
        except AggregateNotFoundError:
            raise not_found(AGENT_NOT_FOUND) from None
        if (
            agent.workspace_id != workspace_id
            or agent.deleted
            or agent.dialect != ORCHESTRATOR_DIALECT
        ):
            raise not_found(AGENT_NOT_FOUND)
        return agent

    # -- registration ----------------------------------------------------------------------

    def register(self, cmd: RegisterOrchestratorAgent) -> tuple[OrchestratorAgentRegistered, int]:
        for _ in range(_RETRIES):
            try:
                # With an Idempotency-Key a retry gets the first answer, even though the
                # one-time token is used by then.
                return self.registry.once(
                    cmd.idempotency, OrchestratorAgentRegistered, lambda: self._registration(cmd)
                )
            except IntegrityError:
                # A parallel registration with the same token or name saved first. Looking
                # again answers it: 401 for the used token, 409 for the taken name.
                continue
        raise unavailable("Registration is contended, try again")

    def _registration(
        self, cmd: RegisterOrchestratorAgent
    ) -> tuple[OrchestratorAgentRegistered, list[Any]]:
        """The answer and the aggregates of one registration, not saved yet."""
        agent_id = uuid4()
        # First the token (401), then the name (409): without a valid token nobody learns
        # which names exist.
        token = self.registry.use_enrollment_token(
            cmd.registration_token, EnrollmentKind.REGISTRATION, agent_id
        )
        workspace_id = token.workspace_id
        claim = self._claim_name(workspace_id, cmd.name, agent_id)
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
                [{"name": name, "metadata": {}} for name in _unique(cmd.capabilities)]
            )
        agent.issue_credential(JWT, jwt.jti, None, None, jwt.expires_at)
        agent.issue_credential(CERTIFICATE, cert.serial, None, None, cert.expires_at)
        answer = OrchestratorAgentRegistered(
            agent_id=agent_id,
            workspace_id=workspace_id,
            token=jwt.token,
            token_expires_at=jwt.expires_at,
            config=self.config,
            certificate=_certificate(cert),
            private_key_pem=cmd.private_key_pem if cmd.idempotency else None,
        )
        return answer, [token, claim, agent]

    def _claim_name(self, workspace_id: str, name: str, agent_id: UUID) -> AgentName:
        try:
            claim: AgentName = self._copy(agent_name_id(workspace_id, name))
            claim.reclaim(agent_id)
        except AggregateNotFoundError:
            claim = AgentName.claim(workspace_id, name, agent_id)
        except NameTaken:
            raise conflict(NAME_TAKEN, field="name") from None
        return claim

    # -- authentication --------------------------------------------------------------------

    def authenticate_token(self, query: AuthenticateOrchestratorToken) -> AgentIdentity:
        now = self.registry.clock()
        try:
            claims = self.jwts.verify(query.token, now)
            agent_id = UUID(claims.agent_id)
        except (InvalidAgentJwt, ValueError):
            raise unauthorized(INVALID_TOKEN) from None
        agent = self._agent(agent_id)
        if (
            agent is None
            or agent.workspace_id != claims.workspace_id
            or not credential_live(agent, JWT, claims.jti, now)
        ):
            raise unauthorized(INVALID_TOKEN)
        return AgentIdentity(agent_id=agent.id, workspace_id=agent.workspace_id)

    def authenticate_certificate(self, query: AuthenticateOrchestratorCertificate) -> AgentIdentity:
        """For a certificate whose chain the TLS terminator already verified: is it revoked?"""
        agent = self._agent(query.agent_id)
        if agent is None or not credential_live(
            agent, CERTIFICATE, query.serial.lower(), self.registry.clock()
        ):
            raise unauthorized(INVALID_CERTIFICATE)
        return AgentIdentity(agent_id=agent.id, workspace_id=agent.workspace_id)

    # -- changes ---------------------------------------------------------------------------

    def update(self, cmd: UpdateOrchestratorAgent) -> tuple[AgentRecord, int]:
        for _ in range(_RETRIES):
            agent = self._orchestrator_agent(cmd.workspace_id, cmd.agent_id)
            labels = agent.attributes.get("labels") or {}
            if cmd.labels is not None and dict(cmd.labels) != labels:
                agent.update_attributes({"labels": dict(cmd.labels)})
            if cmd.capabilities is not None:
                # Capabilities set through seed 000 keep their metadata when they stay.
                metadata = {c["name"]: c.get("metadata", {}) for c in agent.capabilities}
                wanted = [
                    {"name": name, "metadata": metadata.get(name, {})}
                    for name in _unique(cmd.capabilities)
                ]
                if wanted != agent.capabilities:
                    agent.replace_capabilities(wanted)
            try:
                position = self.registry._save(agent)
            except IntegrityError:
                continue
            record = self.registry.get_agent(
                GetAgent(workspace_id=cmd.workspace_id, agent_id=cmd.agent_id)
            )
            return record, position
        raise unavailable("Agent is changing concurrently, try again")

    def delete(self, cmd: DeleteOrchestratorAgent) -> tuple[OrchestratorAgentDeleted, int]:
        for _ in range(_RETRIES):
            agent = self._orchestrator_agent(cmd.workspace_id, cmd.agent_id)
            agent.revoke_all_credentials("agent deleted")
            agent.delete()
            claim = self.registry.released_name_claim(agent)
            try:
                position = self.registry._save(agent, *([claim] if claim else []))
            except IntegrityError:
                continue
            return OrchestratorAgentDeleted(agent_id=agent.id), position
        raise unavailable("Agent is changing concurrently, try again")

    def sync_heartbeat(
        self, cmd: SyncOrchestratorHeartbeat
    ) -> tuple[OrchestratorHeartbeatSynced, int]:
        """Record what a heartbeat reports when it differs from what is recorded: the status
        (only its changes become events, so the list can tell `degraded` without reading
        telemetry) and the capability set. Most heartbeats change nothing and save nothing."""
        for _ in range(_RETRIES):
            current = self._agent(cmd.agent_id)
            if (
                current is None
                or current.workspace_id != cmd.workspace_id
                or current.deleted
                or current.dialect != ORCHESTRATOR_DIALECT
            ):
                raise not_found(AGENT_NOT_FOUND)
            status_changed = current.attributes.get(REPORTED_STATUS) != cmd.status
            wanted = self._reported_capabilities(current, cmd.capabilities)
            if not status_changed and wanted is None:
                return OrchestratorHeartbeatSynced(), 0
            agent = self._orchestrator_agent(cmd.workspace_id, cmd.agent_id)
            if status_changed:
                agent.update_attributes({REPORTED_STATUS: cmd.status})
            if wanted is not None:
                agent.replace_capabilities(wanted)
            try:
                position = self.registry._save(agent)
            except IntegrityError:
                continue
            synced = OrchestratorHeartbeatSynced(
                status_changed=status_changed, capabilities_changed=wanted is not None
            )
            return synced, position
        raise unavailable("Agent is changing concurrently, try again")

    @staticmethod
    def _reported_capabilities(
        agent: Agent, reported: list[str] | None
    ) -> list[dict[str, Any]] | None:
        """The new capability set when the reported one differs (as a set: an agent that lists
        them in another order changes nothing); None when nothing is to change."""
        if reported is None:
            return None
        names = _unique(reported)
        if set(names) == {c["name"] for c in agent.capabilities}:
            return None
        # Capabilities set through seed 000 keep their metadata when they stay.
        metadata = {c["name"]: c.get("metadata", {}) for c in agent.capabilities}
        return [{"name": name, "metadata": metadata.get(name, {})} for name in names]

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
        for _ in range(_RETRIES):
            try:
                agent: Agent = self._copy(cmd.agent_id)
            except AggregateNotFoundError:
                raise unauthorized(INVALID_CERTIFICATE) from None
            if not credential_live(agent, CERTIFICATE, serial_hex(cert), now):
                raise unauthorized(INVALID_CERTIFICATE)
            renewed = self.ca.renew_if_due(
                cmd.cert_pem, now, renew_before=self.renew_before, validity=self.cert_validity
            )
            if renewed is None:
                return OrchestratorCertificateRenewal(renewal=None), 0
            agent.issue_credential(CERTIFICATE, renewed.serial, None, None, renewed.expires_at)
            try:
                position = self.registry._save(agent)
            except IntegrityError:
                continue
            return OrchestratorCertificateRenewal(renewal=_certificate(renewed)), position
        raise unavailable("Agent is changing concurrently, try again")


def build_orchestrator(settings: Settings, registry: Registry) -> OrchestratorAgents:
    """The seed 002 use cases with the data dir's CA and a JWT key derived from the server key."""
    return OrchestratorAgents(
        registry,
        CertificateAuthority.load_or_create(settings.service_data_dir()),
        AgentJwtSigner(
            jwt_signing_key(registry.key), timedelta(seconds=settings.orchestrator_jwt_ttl_seconds)
        ),
        OrchestratorConfig(
            heartbeat_interval=settings.orchestrator_heartbeat_interval_seconds,
            task_poll_interval=settings.orchestrator_task_poll_interval_seconds,
            log_level=settings.orchestrator_log_level,
        ),
        cert_validity=timedelta(seconds=settings.orchestrator_cert_ttl_seconds),
        renew_before=timedelta(seconds=settings.orchestrator_cert_renew_before_seconds),
    )
