"""The HTTP side of the agent channel: what an HTTP-only agent needs to connect."""

from __future__ import annotations

from agentplane.contracts.http.channel_info import ChannelInfo
from agentplane.sdk.calls import Auth, Call, model
from agentplane.sdk.credentials import DeviceCredentials
from agentplane.sdk.resource import Resource
from agentplane.sdk.synced import synced


class AsyncChannel(Resource):
    """`/v1/agent-channel`, called by an agent with its own credentials."""

    async def info(self, credentials: DeviceCredentials) -> ChannelInfo:
        """How this agent's channel connects."""
        return await self._t.send(
            Call(
                "GET",
                "/v1/agent-channel",
                model(ChannelInfo),
                auth=Auth.NONE,
                signer=credentials.headers,
            )
        )


class Channel(Resource):
    """Sync twin of `AsyncChannel`."""

    info = synced(AsyncChannel.info)
