"""NATS handlers of orchestrator agents (seed 002): message → use case → reply."""

from __future__ import annotations

from pydantic import BaseModel

from agentplane.bus.handlers import replying
from agentplane.bus.host import ServiceHost
from agentplane.contracts.orchestrator import (
    AuthenticateOrchestratorCertificate,
    AuthenticateOrchestratorToken,
    DeleteOrchestratorAgent,
    RegisterOrchestratorAgent,
    RenewOrchestratorCertificate,
    SyncOrchestratorHeartbeat,
    UpdateOrchestratorAgent,
)
from agentplane.contracts.subjects import Registry as Subjects
from agentplane.registry.dialects.orchestrator import OrchestratorAgents
from agentplane.registry.dispatch import Dispatch


def register_orchestrator_handlers(
    host: ServiceHost, agents: OrchestratorAgents, dispatch: Dispatch
) -> None:
    command, query = dispatch.command, dispatch.query

    @replying(RegisterOrchestratorAgent)
    async def register(cmd: RegisterOrchestratorAgent) -> BaseModel:
        return await command(agents.register, cmd)

    @replying(AuthenticateOrchestratorToken)
    async def authenticate_token(q: AuthenticateOrchestratorToken) -> BaseModel:
        return await query(agents.authenticate_token, q)

    @replying(AuthenticateOrchestratorCertificate)
    async def authenticate_certificate(q: AuthenticateOrchestratorCertificate) -> BaseModel:
        return await query(agents.authenticate_certificate, q)

    @replying(UpdateOrchestratorAgent)
    async def update(cmd: UpdateOrchestratorAgent) -> BaseModel:
        return await command(agents.update, cmd)

    @replying(DeleteOrchestratorAgent)
    async def delete(cmd: DeleteOrchestratorAgent) -> BaseModel:
        return await command(agents.delete, cmd)

    @replying(RenewOrchestratorCertificate)
    async def renew_certificate(cmd: RenewOrchestratorCertificate) -> BaseModel:
        return await command(agents.renew_certificate, cmd)

    @replying(SyncOrchestratorHeartbeat)
    async def sync_heartbeat(cmd: SyncOrchestratorHeartbeat) -> BaseModel:
        return await command(agents.sync_heartbeat, cmd)

    host.handle(Subjects.ORCHESTRATOR_REGISTER, register)
    host.handle(Subjects.ORCHESTRATOR_AUTHENTICATE_TOKEN, authenticate_token)
    host.handle(Subjects.ORCHESTRATOR_AUTHENTICATE_CERT, authenticate_certificate)
    host.handle(Subjects.ORCHESTRATOR_UPDATE, update)
    host.handle(Subjects.ORCHESTRATOR_DELETE, delete)
    host.handle(Subjects.ORCHESTRATOR_RENEW_CERT, renew_certificate)
    host.handle(Subjects.ORCHESTRATOR_HEARTBEAT_SYNC, sync_heartbeat)
