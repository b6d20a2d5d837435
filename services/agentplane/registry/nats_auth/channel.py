"""The agent channel's questions to the registry: may this agent connect, which dialect is it.

The HTTP channel admits agents with the same checks as the NATS auth callout.
"""

from __future__ import annotations

from pydantic import BaseModel

from agentplane.bus.handlers import replying
from agentplane.bus.host import ServiceHost
from agentplane.contracts.channel import AdmitChannelAgent, ChannelAdmission
from agentplane.contracts.commands import AgentDialect, AgentDialectQuery
from agentplane.contracts.errors import not_found, unauthorized
from agentplane.contracts.subjects import Registry as Subjects
from agentplane.registry.dispatch import Dispatch
from agentplane.registry.nats_auth.admission import NatsAdmission, NotAdmitted
from agentplane.registry.nats_auth.callout import AuthRequest
from agentplane.registry.projections import AGENT

INVALID = "Invalid agent credentials"


def register_channel_admission(
    host: ServiceHost, admission: NatsAdmission, dispatch: Dispatch
) -> None:
    def admit(cmd: AdmitChannelAgent) -> tuple[ChannelAdmission, int]:
        request = AuthRequest(
            server_id="", user_nkey="", user=str(cmd.agent_id), password=cmd.credential
        )
        try:
            admitted, position = admission.admit(request)
        except NotAdmitted:
            # One answer for every failure: which part was wrong is not revealed.
            raise unauthorized(INVALID) from None
        result = ChannelAdmission(
            agent_id=cmd.agent_id, dialect=admitted.dialect, expires_at=admitted.expires_at
        )
        return result, position

    @replying(AdmitChannelAgent)
    async def admit_channel_agent(cmd: AdmitChannelAgent) -> BaseModel:
        # A command: a rotated device key's first use completes its rotation (a write).
        return await dispatch.command(admit, cmd)

    def dialect_of(query: AgentDialectQuery) -> AgentDialect:
        with admission.registry.views.read() as tx:
            doc = tx.get(AGENT, str(query.agent_id))
        if doc is None or doc.get("deleted"):
            raise not_found("Agent not found")
        return AgentDialect(
            agent_id=query.agent_id, workspace_id=doc["workspace_id"], dialect=doc["dialect"]
        )

    @replying(AgentDialectQuery)
    async def agent_dialect(query: AgentDialectQuery) -> BaseModel:
        return await dispatch.query(dialect_of, query)

    host.handle(Subjects.CHANNEL_ADMIT, admit_channel_agent)
    host.handle(Subjects.AGENT_DIALECT, agent_dialect)
