"""NATS handlers of token rotation, capabilities and token expiry: message → use case → reply."""

from __future__ import annotations

from pydantic import BaseModel

from agentplane.bus.handlers import EncodedData, replying
from agentplane.bus.host import ServiceHost
from agentplane.contracts.agent_credentials import (
    FindAgentsByCapability,
    ListExpiringTokens,
    ReplaceCapabilities,
    RotateAgentToken,
)
from agentplane.contracts.subjects import Registry as Subjects
from agentplane.registry.credentials import AgentCredentials
from agentplane.registry.dispatch import Dispatch

# `command` waits until the use case's events are published; `query` only runs it in a thread.


def register_credential_handlers(
    host: ServiceHost, credentials: AgentCredentials, dispatch: Dispatch
) -> None:
    command, query = dispatch.command, dispatch.query

    @replying(RotateAgentToken)
    async def rotate_token(cmd: RotateAgentToken) -> BaseModel:
        return await command(credentials.rotate_token, cmd)

    @replying(ReplaceCapabilities)
    async def replace_capabilities(cmd: ReplaceCapabilities) -> BaseModel:
        return await command(credentials.replace_capabilities, cmd)

    @replying(FindAgentsByCapability)
    async def find_by_capability(q: FindAgentsByCapability) -> EncodedData:
        return EncodedData(await query(credentials.find_by_capability_encoded, q))

    @replying(ListExpiringTokens)
    async def expiring_tokens(q: ListExpiringTokens) -> BaseModel:
        return await query(credentials.expiring_tokens, q)

    host.handle(Subjects.AGENT_ROTATE_TOKEN, rotate_token)
    host.handle(Subjects.AGENT_REPLACE_CAPABILITIES, replace_capabilities)
    host.handle(Subjects.AGENT_FIND_BY_CAPABILITY, find_by_capability)
    host.handle(Subjects.AGENT_EXPIRING_TOKENS, expiring_tokens)
