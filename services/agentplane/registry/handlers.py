"""The registry's handler table: subject → (request model, use case, command | query).

`command`: run in the dispatch's thread pool, answered once its events are public;
`batched(...)` commands are run and committed in batches (`dispatch`); `query`: run in a
thread. Decoding, replies and error replies are `bus.routes`' and `bus.handlers`'.
"""

from __future__ import annotations

from agentplane.bus.host import ServiceHost
from agentplane.bus.requests import BusClient
from agentplane.bus.routes import Route, command, query, raw, serve_routes
from agentplane.contracts import agent_credentials as cred
from agentplane.contracts import agents, device, pap, services
from agentplane.contracts import orchestrator as orch
from agentplane.contracts import orchestrator_views as orch_views
from agentplane.contracts import workspaces as ws
from agentplane.contracts.channel import AdmitChannelAgent
from agentplane.contracts.commands import AgentDialectQuery
from agentplane.contracts.online_agents import ListOnlineAgents
from agentplane.contracts.subjects import Registry as S
from agentplane.contracts.tunnels import TunnelRoutesQuery, Tunnels
from agentplane.registry.dialects.orchestrator_views import OrchestratorViews
from agentplane.registry.dialects.pap_kills import register_lifecycle_kills
from agentplane.registry.dispatch import Dispatch, batched
from agentplane.registry.online_agents import OnlineAgents
from agentplane.registry.use_cases import UseCases


def routes(u: UseCases, views: OrchestratorViews, online: OnlineAgents) -> list[Route]:
    w, e, a, t, cap, c, o = (
        u.workspaces,
        u.enrollment,
        u.agents,
        u.credentials,
        u.capabilities,
        u.catalog,
        u.orchestrator,
    )
    return [
        # workspaces, enrollment, reading the fleet (seed 000)
        command(S.WORKSPACE_CREATE, ws.CreateWorkspace, batched(w.create_workspace)),
        query(S.WORKSPACE_AUTHENTICATE, ws.AuthenticateWorkspace, w.authenticate_workspace),
        command(S.AGENT_PROVISION, agents.ProvisionAgent, batched(e.provision_agent)),
        command(S.AGENT_REGISTER, agents.RegisterAgent, batched(e.register_agent)),
        command(S.ENROLLMENT_TOKEN_ISSUE, agents.IssueEnrollmentToken, batched(e.issue_enrollment_token)),  # noqa: E501
        query(S.AGENT_LIST, agents.ListAgents, a.list_agents_encoded),
        query(S.AGENT_SUMMARIES, agents.ListAgentSummaries, a.agent_summaries_encoded),
        raw(S.AGENT_ONLINE, ListOnlineAgents, online.list),  # asks the heartbeat service
        query(S.AGENT_GET, agents.GetAgent, a.get_agent),
        query(S.AGENT_DIALECT, AgentDialectQuery, a.dialect_of),
        # credentials and capabilities (seed 000)
        query(S.AGENT_AUTHENTICATE, agents.AuthenticateAgent, t.authenticate_agent),
        command(S.AGENT_ROTATE_TOKEN, cred.RotateAgentToken, t.rotate_token),
        query(S.AGENT_EXPIRING_TOKENS, cred.ListExpiringTokens, t.expiring_tokens),
        command(S.AGENT_REPLACE_CAPABILITIES, cred.ReplaceCapabilities, cap.replace_capabilities),
        query(S.AGENT_FIND_BY_CAPABILITY, cred.FindAgentsByCapability, cap.find_by_capability_encoded),  # noqa: E501
        # the agent channel: a device key's first use completes its rotation (a write)
        command(S.CHANNEL_ADMIT, AdmitChannelAgent, u.channel.admit),
        # the service catalog and the edge's routes (seed 001)
        command(S.SERVICE_REGISTER, services.RegisterService, c.register),
        command(S.SERVICE_CREATE_EXTERNAL, services.CreateExternalService, c.create_external),
        query(S.SERVICE_GET, services.GetService, c.get),
        query(S.SERVICE_LIST, services.ListServices, c.list_encoded),
        command(S.SERVICE_RENAME, services.RenameService, c.rename),
        command(S.SERVICE_DELETE, services.DeleteService, c.delete),
        command(S.SERVICE_SET_SUBDOMAIN, services.SetSubdomain, c.set_subdomain),
        query(S.SERVICE_CHECK_SUBDOMAIN, services.CheckSubdomain, c.check_subdomain),
        query(Tunnels.ROUTES, TunnelRoutesQuery, c.routes),
        # orchestrator agents (seed 002)
        command(S.ORCHESTRATOR_REGISTER, orch.RegisterOrchestratorAgent, o.register),
        query(S.ORCHESTRATOR_AUTHENTICATE_TOKEN, orch.AuthenticateOrchestratorToken, o.authenticate_token),  # noqa: E501
        query(S.ORCHESTRATOR_AUTHENTICATE_CERT, orch.AuthenticateOrchestratorCertificate, o.authenticate_certificate),  # noqa: E501
        command(S.ORCHESTRATOR_UPDATE, orch.UpdateOrchestratorAgent, o.update),
        command(S.ORCHESTRATOR_DELETE, orch.DeleteOrchestratorAgent, o.delete),
        command(S.ORCHESTRATOR_RENEW_CERT, orch.RenewOrchestratorCertificate, o.renew_certificate),
        command(S.ORCHESTRATOR_HEARTBEAT_SYNC, orch.SyncOrchestratorHeartbeat, o.sync_heartbeat),
        # status derived from the heartbeat service's liveness and the reported status
        raw(S.ORCHESTRATOR_LIST, orch_views.ListOrchestratorAgents, views.list),
        raw(S.ORCHESTRATOR_GET, orch_views.GetOrchestratorAgent, views.get),
        # device agents and releases (seed 003)
        command(S.DEVICE_ENROLL, device.EnrollDevice, u.device.enroll),
        command(S.DEVICE_AUTHENTICATE, device.AuthenticateDevice, u.device.authenticate),
        command(S.DEVICE_HEARTBEAT_SYNC, device.SyncDeviceHeartbeat, u.device.sync_heartbeat),
        command(S.DEVICE_KEY_ROTATE, device.RotateDeviceKey, u.device.request_key_rotation),
        command(S.RELEASE_PUBLISH, device.PublishRelease, u.releases.publish),
        query(S.RELEASE_FIND_UPDATE, device.FindUpdate, u.releases.find_update),
        # PAP agents (seed 004)
        command(S.PAP_AGENT_CREATE, pap.CreatePapAgent, u.pap.create),
        query(S.PAP_AGENT_LIST, pap.ListPapAgents, u.pap.list),
        query(S.PAP_AGENT_GET, pap.GetPapAgent, u.pap.get),
        command(S.PAP_AGENT_TERMINATE, pap.TerminatePapAgent, u.pap.terminate),
        query(S.PAP_AGENT_REPORTING, pap.GetPapAgent, u.pap_reports.reporting_agent),
    ]  # fmt: skip


def register_handlers(
    host: ServiceHost, use_cases: UseCases, dispatch: Dispatch, bus: BusClient
) -> None:
    views = OrchestratorViews(use_cases.agents, dispatch, bus)
    online = OnlineAgents(use_cases.agents, dispatch, bus)
    serve_routes(host, routes(use_cases, views, online), dispatch)
    # KILLED by the lifecycle service: the record ends too (a durable consumer).
    register_lifecycle_kills(host, use_cases.pap, dispatch)
