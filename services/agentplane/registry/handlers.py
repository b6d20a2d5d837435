"""NATS handlers of the registry: message → use case → reply, nothing else."""

from __future__ import annotations

from pydantic import BaseModel

from agentplane.bus.handlers import EncodedData, replying
from agentplane.bus.host import ServiceHost
from agentplane.contracts.agents import (
    AuthenticateAgent,
    GetAgent,
    IssueEnrollmentToken,
    ListAgents,
    ListAgentSummaries,
    ProvisionAgent,
    RegisterAgent,
)
from agentplane.contracts.subjects import Registry as Subjects
from agentplane.contracts.workspaces import AuthenticateWorkspace, CreateWorkspace
from agentplane.registry.agent_credentials import AgentCredentials
from agentplane.registry.agent_credentials_handlers import register_credential_handlers
from agentplane.registry.application import Registry
from agentplane.registry.dispatch import Dispatch
from agentplane.registry.lifecycle_kills import register_lifecycle_kills
from agentplane.registry.pap import PapAgents
from agentplane.registry.pap_handlers import register_pap_handlers
from agentplane.registry.pap_reports import register_pap_report_handlers


def register_handlers(host: ServiceHost, registry: Registry, dispatch: Dispatch) -> None:
    command, query = dispatch.command, dispatch.query

    @replying(CreateWorkspace)
    async def create_workspace(cmd: CreateWorkspace) -> BaseModel:
        return await command(registry.create_workspace, cmd)

    @replying(AuthenticateWorkspace)
    async def authenticate_workspace(q: AuthenticateWorkspace) -> BaseModel:
        return await query(registry.authenticate_workspace, q)

    @replying(ProvisionAgent)
    async def provision_agent(cmd: ProvisionAgent) -> BaseModel:
        return await command(registry.provision_agent, cmd)

    @replying(RegisterAgent)
    async def register_agent(cmd: RegisterAgent) -> BaseModel:
        return await command(registry.register_agent, cmd)

    @replying(AuthenticateAgent)
    async def authenticate_agent(q: AuthenticateAgent) -> BaseModel:
        return await query(registry.authenticate_agent, q)

    @replying(ListAgents)
    async def list_agents(q: ListAgents) -> EncodedData:
        return EncodedData(await query(registry.list_agents_encoded, q))

    @replying(ListAgentSummaries)
    async def agent_summaries(q: ListAgentSummaries) -> EncodedData:
        return EncodedData(await query(registry.agent_summaries_encoded, q))

    @replying(GetAgent)
    async def get_agent(q: GetAgent) -> BaseModel:
        return await query(registry.get_agent, q)

    @replying(IssueEnrollmentToken)
    async def issue_enrollment_token(cmd: IssueEnrollmentToken) -> BaseModel:
        return await command(registry.issue_enrollment_token, cmd)

    host.handle(Subjects.ENROLLMENT_TOKEN_ISSUE, issue_enrollment_token)
    host.handle(Subjects.WORKSPACE_CREATE, create_workspace)
    host.handle(Subjects.WORKSPACE_AUTHENTICATE, authenticate_workspace)
    host.handle(Subjects.AGENT_PROVISION, provision_agent)
    host.handle(Subjects.AGENT_REGISTER, register_agent)
    host.handle(Subjects.AGENT_AUTHENTICATE, authenticate_agent)
    host.handle(Subjects.AGENT_LIST, list_agents)
    host.handle(Subjects.AGENT_SUMMARIES, agent_summaries)
    host.handle(Subjects.AGENT_GET, get_agent)
    register_credential_handlers(host, AgentCredentials(registry), dispatch)
    pap = PapAgents(registry, registry.agent_domain)
    register_pap_handlers(host, pap, dispatch)
    register_pap_report_handlers(host, pap, dispatch)
    # KILLED by the lifecycle service: the record ends too (a durable consumer).
    register_lifecycle_kills(host, pap, dispatch)
