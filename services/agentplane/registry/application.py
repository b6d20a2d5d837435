"""Registry use cases on the eventsourcing application (synchronous; called via threads)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError, Recording

from agentplane.contracts.agents import (
    AgentIdentity,
    AgentList,
    AgentProvisioned,
    AgentRecord,
    AuthenticateAgent,
    EnrollmentKind,
    EnrollmentTokenIssued,
    GetAgent,
    IssueEnrollmentToken,
    ListAgents,
    ListAgentSummaries,
    ProvisionAgent,
    RegisterAgent,
)
from agentplane.contracts.errors import conflict, not_found, unauthorized
from agentplane.contracts.idempotency import Idempotency
from agentplane.contracts.workspaces import (
    AuthenticateWorkspace,
    CreateWorkspace,
    WorkspaceCreated,
    WorkspaceIdentity,
)
from agentplane.eventstore.application import ServiceApplication
from agentplane.eventstore.group_commit import GroupCommitter
from agentplane.eventstore.paging import Scanned, encoded_page, scan
from agentplane.eventstore.projection import ProjectionRunner
from agentplane.eventstore.views import ViewStore
from agentplane.registry.domain import (
    Agent,
    AgentAlreadyRegistered,
    EnrollmentToken,
    TokenMismatch,
    TokenNotUsable,
    Workspace,
)
from agentplane.registry.domain.agent_name import AgentName, agent_name_id
from agentplane.registry.domain.enrollment import enrollment_token_id
from agentplane.registry.domain.workspace import external_id
from agentplane.registry.idempotency import Answer, IdempotentAnswers
from agentplane.registry.projections import (
    AGENT,
    AGENT_SUMMARY,
    WORKSPACE,
    WORKSPACE_KEY,
    RegistryProjection,
    agent_doc,
)
from agentplane.registry.translate import TRANSLATOR
from agentplane.security import is_well_formed, keyed_hash, matches, new_secret, public_prefix
from agentplane.security.shred_keys import ShredKeys

API_KEY_PREFIX = "pc_"
AGENT_TOKEN_PREFIX = "agent_tok_"
MAX_CACHED_WORKSPACES = 100_000
ENROLLMENT_PREFIXES = {
    EnrollmentKind.REGISTRATION: "ap_reg_",
    EnrollmentKind.ENROLLMENT: "ap_enr_",
}


class RegistryStore(ServiceApplication):
    """The registry's event store."""

    name = "registry"
    translator = TRANSLATOR


class Registry:
    """Use cases. Each command returns its result and the last notification id it recorded."""

    def __init__(
        self,
        store: RegistryStore,
        views: ViewStore,
        key: bytes,
        *,
        agent_token_ttl: timedelta = timedelta(hours=24),
        agent_domain: str = "agents.local",
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        shred_keys: ShredKeys | None = None,
    ) -> None:
        self.store = store
        # Idempotent creates keep their first answer, encrypted under day keys in the data dir.
        self.answers = IdempotentAnswers(store, shred_keys) if shred_keys else None
        self.views = views
        self.key = key
        self.agent_token_ttl = agent_token_ttl
        # Seed 004: a PAP agent's dns_name is `{name}.{agent_domain}`.
        self.agent_domain = agent_domain
        self.clock = clock
        self.projector = ProjectionRunner(store, views, RegistryProjection())
        self.committer = GroupCommitter(store, recorded=self._recorded)
        # Who else takes each commit's recordings from memory (the outbox relay).
        self.recorded_hooks: list[Callable[[list[Recording[Any]]], object]] = []
        # Workspaces never change once created: their view documents are kept here.
        self._workspaces: dict[str, dict[str, Any]] = {}
        # Bytes of documents one page may carry: its reply must fit one NATS message (main
        # sets half the server's max_payload once connected; pages are re-encoded).
        self.reply_budget = 256 * 1024

    def _recorded(self, recordings: list[Recording[Any]]) -> None:
        # The projection applies each group right after its commit, so the view includes
        # the command's events before its reply goes out (read-your-writes).
        self.projector.apply_recorded(recordings)
        for hook in self.recorded_hooks:
            hook(recordings)

    def _save(self, *aggregates: Any) -> int:
        # Concurrent commands share a transaction (group commit).
        return self.committer.save(*aggregates)

    # -- workspaces -------------------------------------------------------------------------

    def _idempotent(self) -> IdempotentAnswers:
        if self.answers is None:
            raise RuntimeError("idempotent creates need shred keys (build_registry gives them)")
        return self.answers

    def replay(self, idempotency: Idempotency | None, answer_type: type[Answer]) -> Answer | None:
        """The first answer to a create retried with its Idempotency-Key, else None."""
        if idempotency is None:
            return None
        return self._idempotent().replay(idempotency, answer_type, self.clock())

    def once(
        self,
        idempotency: Idempotency | None,
        answer_type: type[Answer],
        create: Callable[[], tuple[Answer, list[Any]]],
    ) -> tuple[Answer, int]:
        """Run a create once per Idempotency-Key: its aggregates and its answer in one save.

        A retry gets the stored answer; a parallel first use of the key that lost the save
        gets the winner's. Without a key: a plain create (IntegrityError propagates).
        """
        if (first := self.replay(idempotency, answer_type)) is not None:
            return first, 0
        answer, aggregates = create()
        stored = self._idempotent().record(idempotency, answer, self.clock()) if idempotency else []
        try:
            position = self._save(*aggregates, *stored)
        except IntegrityError:
            if (first := self.replay(idempotency, answer_type)) is not None:
                return first, 0
            raise
        return answer, position

    def create_workspace(self, cmd: CreateWorkspace) -> tuple[WorkspaceCreated, int]:
        def create() -> tuple[WorkspaceCreated, list[Any]]:
            api_key = new_secret(API_KEY_PREFIX)
            workspace = Workspace.create(
                cmd.name,
                cmd.tier.value,
                keyed_hash(api_key, self.key),
                public_prefix(api_key, API_KEY_PREFIX),
            )
            created = WorkspaceCreated(
                workspace_id=external_id(workspace.id),
                workspace_name=workspace.name,
                tier=cmd.tier,
                api_key=api_key,
            )
            return created, [workspace]

        try:
            return self.once(cmd.idempotency, WorkspaceCreated, create)
        except IntegrityError:
            raise conflict("Workspace with this name already exists", field="name") from None

    def authenticate_workspace(self, query: AuthenticateWorkspace) -> WorkspaceIdentity:
        if not is_well_formed(query.api_key, API_KEY_PREFIX):
            raise unauthorized("Invalid API key")
        with self.views.read() as tx:
            link = tx.get(WORKSPACE_KEY, keyed_hash(query.api_key, self.key))
            workspace = tx.get(WORKSPACE, link["workspace_id"]) if link else None
        if workspace is None:
            raise unauthorized("Invalid API key")
        return WorkspaceIdentity.model_validate(workspace)

    def _workspace(self, workspace_id: str) -> dict[str, Any]:
        if (known := self._workspaces.get(workspace_id)) is not None:
            return known
        with self.views.read() as tx:
            workspace = tx.get(WORKSPACE, workspace_id)
        if workspace is None:
            raise not_found("Workspace not found")
        if len(self._workspaces) >= MAX_CACHED_WORKSPACES:
            self._workspaces.clear()
        self._workspaces[workspace_id] = workspace
        return workspace

    # -- agents -----------------------------------------------------------------------------

    def provision_agent(self, cmd: ProvisionAgent) -> tuple[AgentProvisioned, int]:
        workspace = self._workspace(cmd.workspace_id)

        def create() -> tuple[AgentProvisioned, list[Any]]:
            token = new_secret(AGENT_TOKEN_PREFIX)
            expires_at = self.clock() + timedelta(seconds=cmd.ttl_seconds)
            agent = Agent.provision(
                uuid4(),
                cmd.workspace_id,
                cmd.client_type.value,
                cmd.name,
                cmd.label,
                keyed_hash(token, self.key),
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

        return self.once(cmd.idempotency, AgentProvisioned, create)

    def register_agent(self, cmd: RegisterAgent) -> tuple[AgentRecord, int]:
        self._workspace(cmd.workspace_id)
        try:
            existing: Agent | None = self.store.repository.get(cmd.agent_id)
        except AggregateNotFoundError:
            existing = None
        if existing is not None:
            if existing.workspace_id != cmd.workspace_id:
                # Another workspace's agent id: taken, without revealing whose it is.
                raise conflict("Agent with this agentId already exists", field="agentId")
            try:
                existing.complete_registration(
                    matches(cmd.token, existing.token_hash, self.key)
                    and existing.token_valid_at(self.clock()),
                    cmd.name,
                    cmd.label,
                )
            except AgentAlreadyRegistered:
                raise conflict("Agent with this agentId already exists", field="agentId") from None
            except TokenMismatch:
                raise unauthorized("Token does not match the provisioned agent") from None
            try:
                position = self._save(existing)
            except IntegrityError:
                raise conflict("Agent with this agentId already exists", field="agentId") from None
        else:
            agent = Agent.register(
                cmd.agent_id,
                cmd.workspace_id,
                cmd.name,
                cmd.label,
                keyed_hash(cmd.token, self.key),
                public_prefix(cmd.token, AGENT_TOKEN_PREFIX),
                self.clock() + self.agent_token_ttl,
            )
            # The answer is what the projection makes of the event: no read-back needed.
            record = AgentRecord.model_validate(agent_doc(agent.pending_events[0]))
            try:
                position = self._save(agent)
            except IntegrityError:
                raise conflict("Agent with this agentId already exists", field="agentId") from None
            return record, position
        return self.get_agent(
            GetAgent(workspace_id=cmd.workspace_id, agent_id=cmd.agent_id)
        ), position

    def authenticate_agent(self, query: AuthenticateAgent) -> AgentIdentity:
        try:
            agent: Agent = self.store.repository.get(query.agent_id, deepcopy_from_cache=False)
        except AggregateNotFoundError:
            raise unauthorized("Invalid agent credentials") from None
        return self.check_agent_token(agent, query.token)

    def check_agent_token(self, agent: Agent, token: str) -> AgentIdentity:
        """The agent's identity if `token` is its live token (the agent is only read)."""
        if (
            not matches(token, agent.token_hash, self.key)
            or not agent.token_valid_at(self.clock())
            or not agent.credential_usable(self.clock())
        ):
            raise unauthorized("Invalid agent credentials")
        return AgentIdentity(
            agent_id=agent.id,
            workspace_id=agent.workspace_id,
            token_expires_at=agent.token_expires_at,
        )

    def released_name_claim(self, agent: Agent) -> AgentName | None:
        """The agent's name claim, released, to save together with the agent that ends.

        None when the agent never claimed its name (seed 000 and 003 names are not unique).
        """
        try:
            claim: AgentName = self.store.repository.get(
                agent_name_id(agent.workspace_id, agent.name or "")
            )
        except AggregateNotFoundError:
            return None
        claim.release(agent.id)
        return claim

    # -- one-time enrollment tokens ----------------------------------------------------------

    def issue_enrollment_token(
        self, cmd: IssueEnrollmentToken
    ) -> tuple[EnrollmentTokenIssued, int]:
        self._workspace(cmd.workspace_id)

        def create() -> tuple[EnrollmentTokenIssued, list[Any]]:
            prefix = ENROLLMENT_PREFIXES[cmd.kind]
            token = new_secret(prefix)
            expires_at = self.clock() + timedelta(seconds=cmd.ttl_seconds)
            issued = EnrollmentToken.issue(
                keyed_hash(token, self.key),
                cmd.workspace_id,
                cmd.kind.value,
                public_prefix(token, prefix),
                expires_at,
            )
            answer = EnrollmentTokenIssued(token=token, kind=cmd.kind, expires_at=expires_at)
            return answer, [issued]

        return self.once(cmd.idempotency, EnrollmentTokenIssued, create)

    def use_enrollment_token(
        self, token: str, kind: EnrollmentKind, agent_id: UUID
    ) -> EnrollmentToken:
        """The token, marked used by `agent_id`; save it together with the new agent.

        Saving both in one `_save` makes the use exactly-once: a concurrent use of the same
        token conflicts on the token's version and is rejected.
        """
        invalid_token = unauthorized("Invalid or expired registration token")
        if not is_well_formed(token, ENROLLMENT_PREFIXES[kind]):
            raise invalid_token
        try:
            issued: EnrollmentToken = self.store.repository.get(
                enrollment_token_id(keyed_hash(token, self.key))
            )
            issued.use(kind.value, agent_id, self.clock())
        except (AggregateNotFoundError, TokenNotUsable):
            raise invalid_token from None
        return issued

    def list_agents(self, query: ListAgents) -> AgentList:
        page = self._agent_list(query)
        agents = [AgentRecord.model_validate(d) for d in page.docs]
        return AgentList(agents=agents, next_after=page.next_after)

    def list_agents_encoded(self, query: ListAgents) -> bytes:
        """`list_agents` as the JSON of its `AgentList`, spliced from the stored documents
        (they have the record's shape): a page of a big fleet is never decoded here."""
        page = self._agent_list(query)
        return encoded_page("agents", page.texts, page.next_after)

    def agent_summaries_encoded(self, query: ListAgentSummaries) -> bytes:
        """A page of `AgentSummaryList` JSON, spliced from the stored summaries."""
        page = self.page_agents(query.workspace_id, query.after, query.limit, kind=AGENT_SUMMARY)
        return encoded_page("agents", page.texts, page.next_after)

    def _agent_list(self, query: ListAgents) -> Scanned:
        if query.dialect is None and query.capability is None:
            # Deleted agents are not in the workspace's scope: nothing to filter.
            return self.page_agents(query.workspace_id, query.after, query.limit)

        def keep(doc: dict[str, Any]) -> bool:
            if doc.get("deleted") or (query.dialect and doc.get("dialect") != query.dialect):
                return False
            wanted = query.capability
            return wanted is None or any(c.get("name") == wanted for c in doc["capabilities"])

        return self.page_agents(query.workspace_id, query.after, query.limit, keep)

    def page_agents(
        self,
        workspace_id: str,
        after: str | None,
        limit: int,
        keep: Callable[[dict[str, Any]], bool] | None = None,
        kind: str = AGENT,
    ) -> Scanned:
        """A page of a workspace's agent documents, oldest first (or another agent index)."""
        with self.views.read() as tx:
            return scan(
                tx, kind, workspace_id, after=after, limit=limit,
                max_bytes=self.reply_budget, keep=keep,
            )  # fmt: skip

    def get_agent(self, query: GetAgent) -> AgentRecord:
        with self.views.read() as tx:
            doc = tx.get(AGENT, str(query.agent_id))
        if doc is None or doc["workspace_id"] != query.workspace_id or doc.get("deleted"):
            raise not_found("Agent not found")
        return AgentRecord.model_validate(doc)
