"""Seed 000 remote commands, and their state (operator endpoints of DESIGN §1)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agentplane.contracts.channel import CommandAction
from agentplane.contracts.http.commands import CommandBody, CommandList, CommandSent, CommandState
from agentplane.sdk.agents import AgentId
from agentplane.sdk.calls import Call, model, path
from agentplane.sdk.resource import Resource
from agentplane.sdk.synced import synced


class AsyncCommands(Resource):
    """Commands to one agent: queued while it is offline, delivered when it reconnects."""

    async def send(
        self,
        agent_id: AgentId,
        action: CommandAction | str,
        params: Mapping[str, Any] | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> CommandSent:
        """Send `restart`, `stop`, `expose`, `reach` or `status` with its parameters."""
        body = CommandBody(action=CommandAction(action), params=dict(params or {}))
        return await self._t.send(
            Call(
                "POST",
                path("/v1/agents/{}/command", agent_id),
                model(CommandSent),
                body=body,
                idempotency_key=idempotency_key,
            )
        )

    async def get(self, agent_id: AgentId, command_id: str) -> CommandState:
        """A command's state and, once finished, its result."""
        return await self._t.send(
            Call(
                "GET", path("/v1/agents/{}/commands/{}", agent_id, command_id), model(CommandState)
            )
        )

    async def list(
        self, agent_id: AgentId, *, limit: int | None = None, cursor: str | None = None
    ) -> CommandList:
        """One page of the agent's commands; `next_cursor` fetches the next."""
        return await self._t.send(
            Call(
                "GET",
                path("/v1/agents/{}/commands", agent_id),
                model(CommandList),
                params={"limit": limit, "cursor": cursor},
            )
        )

    async def cancel(self, agent_id: AgentId, command_id: str) -> CommandState:
        """Cancel a command that has not finished."""
        return await self._t.send(
            Call(
                "DELETE",
                path("/v1/agents/{}/commands/{}", agent_id, command_id),
                model(CommandState),
            )
        )


class Commands(Resource):
    """Sync twin of `AsyncCommands`."""

    send = synced(AsyncCommands.send)
    get = synced(AsyncCommands.get)
    list = synced(AsyncCommands.list)
    cancel = synced(AsyncCommands.cancel)
