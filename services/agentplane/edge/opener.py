"""Opening one stream: ask the route's agent over the channel (`tunnel.open`, a NATS request
on its inbox) to dial the data port, and wait for that connection (or the agent's refusal)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from datetime import UTC, datetime

from nats.aio.client import Client
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout
from pydantic import ValidationError

from agentplane.contracts.channel import ChannelAck, HubKind, HubMessage
from agentplane.contracts.subjects import AgentChannel
from agentplane.contracts.tunnels import TunnelOpenBody, TunnelRoute
from agentplane.edge.data_port import DataPort, StreamTokens
from agentplane.relay.ends import PlainEnd

log = logging.getLogger("agentplane.edge.open")

ACK_TIMEOUT = 2.0


class OpenFailed(Exception):
    """The stream could not be opened; the message says why (no secret in it)."""


class StreamOpener:
    def __init__(
        self,
        nc: Client,
        tokens: StreamTokens,
        data_port: DataPort,
        advertised_host: str,
        tls: bool,
        ca_pem: str,
        timeout: float,
    ) -> None:
        self.nc = nc
        self.tokens = tokens
        self.data_port = data_port
        self.advertised_host = advertised_host
        self.tls = tls
        self.ca_pem = ca_pem
        self.timeout = timeout

    def _message(self, route: TunnelRoute, stream_id: str, token: str) -> bytes:
        body = TunnelOpenBody(
            stream_id=stream_id,
            stream_token=token,
            service_id=route.service_id,
            edge_host=self.advertised_host,
            edge_port=self.data_port.port,
            target_host=route.target_host,
            target_port=route.target_port,
            tls=self.tls,
            edge_ca_pem=self.ca_pem if self.tls else None,
        )
        hub = HubMessage(
            id=f"tunnel-{stream_id}",
            kind=HubKind.TUNNEL_OPEN,
            sent_at=datetime.now(UTC),
            body=body.model_dump(mode="json"),
        )
        return hub.model_dump_json().encode()

    async def _ask(self, agent_id: str, data: bytes) -> str | None:
        """The agent's refusal, or None once it accepted (or may have: a lost ack)."""
        try:
            reply = await self.nc.request(AgentChannel.inbox(agent_id), data, timeout=ACK_TIMEOUT)
        except NoRespondersError:
            return "the agent is not connected"
        except NatsTimeout:
            return None  # its data connection may still come: wait for it
        try:
            ack = ChannelAck.model_validate_json(reply.data)
        except ValidationError:
            return None
        return None if ack.accepted else f"refused by the agent: {ack.error or 'no reason'}"

    async def open(self, route: TunnelRoute) -> PlainEnd:
        """The agent's data connection for a new visitor connection to `route`."""
        stream_id = uuid.uuid4().hex
        pending = self.tokens.expect(stream_id, self.timeout)
        asked = asyncio.ensure_future(
            self._ask(str(route.agent_id), self._message(route, stream_id, pending.token))
        )
        handed = False
        try:
            done, _ = await asyncio.wait(
                {pending.future, asked}, timeout=self.timeout, return_when=asyncio.FIRST_COMPLETED
            )
            if pending.future not in done and asked in done and asked.result() is not None:
                raise OpenFailed(str(asked.result()))
            if pending.future not in done:
                remaining = max(0.0, pending.expires_at - asyncio.get_running_loop().time())
                await asyncio.wait({pending.future}, timeout=remaining)
            if not pending.future.done() or pending.future.cancelled():
                raise OpenFailed("the agent did not connect back in time")
            end, hello = pending.future.result()
            if not hello.ok:
                raise OpenFailed(f"the agent could not reach the target: {hello.error}")
            handed = True
            return end
        finally:
            self.tokens.forget(stream_id)
            future = pending.future
            if not handed and future.done() and not future.cancelled():
                future.result()[0].close()  # given up (or refused) after it arrived
            elif not future.done():
                future.cancel()
            if not asked.done():
                asked.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await asked
