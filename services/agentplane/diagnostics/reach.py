"""Reach checks: ask an agent over its channel to probe a service from its own network, and
wait for its `reach.result`. Every replica hears every result (a plain subscription, no queue
group); the one that asked takes it."""

from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout
from pydantic import ValidationError

from agentplane.contracts.channel import ChannelAck, HubKind, HubMessage
from agentplane.contracts.diagnostics import ReachMode, ReachRequestBody, ReachResultBody
from agentplane.contracts.errors import conflict
from agentplane.contracts.services import ServiceProtocol, ServiceRecord
from agentplane.contracts.subjects import AgentChannel

log = logging.getLogger("agentplane.diagnostics.reach")

# How long the agent has to acknowledge the request (it probes after the ack).
ACK_TIMEOUT_SECONDS = 2.0
# The agent answers a little before the request's timeout; this much more is network slack.
RESULT_SLACK_SECONDS = 1.0
OFFLINE = "Agent offline or unreachable"
# An offline agent is the state of one agent, not of the control plane: 409, which clients do
# not retry blindly (a 503 invites retries while the agent may stay offline for hours).


@dataclass(frozen=True)
class ReachOutcome:
    """The agent's result, or why there is none (`refused` by the agent, or a timeout)."""

    result: ReachResultBody | None
    refused: str | None = None


class ReachChecks:
    def __init__(self, nc: Client) -> None:
        self.nc = nc
        self.pending: dict[str, tuple[str, asyncio.Future[ReachResultBody]]] = {}

    async def subscribe(self) -> None:
        subject = AgentChannel.from_agent("*", AgentChannel.REACH_RESULT)
        await self.nc.subscribe(subject, cb=self._on_result)

    async def _on_result(self, msg: Msg) -> None:
        agent_id = msg.subject.split(".")[2]
        try:
            result = ReachResultBody.model_validate_json(msg.data)
        except ValidationError:
            log.warning("invalid reach result from agent %s ignored", agent_id)
            return
        entry = self.pending.get(result.check_id)
        # Only the agent that was asked may answer a check.
        if entry is not None and entry[0] == agent_id and not entry[1].done():
            entry[1].set_result(result)

    async def run(
        self, service: ServiceRecord, agent_id: str, mode: ReachMode, timeout_ms: int
    ) -> ReachOutcome:
        check_id = secrets.token_hex(12)
        body = ReachRequestBody(
            check_id=check_id,
            service_id=service.id,
            target_host=service.target_host,
            target_port=service.target_port,
            mode=mode,
            timeout_ms=timeout_ms,
            tls_for_http=service.protocol == ServiceProtocol.HTTPS,
        )
        message = HubMessage(
            id=f"reach-{check_id}",
            kind=HubKind.REACH_REQUEST,
            sent_at=datetime.now(UTC),
            body=body.model_dump(mode="json"),
        )
        future: asyncio.Future[ReachResultBody] = asyncio.get_running_loop().create_future()
        self.pending[check_id] = (agent_id, future)
        try:
            try:
                reply = await self.nc.request(
                    AgentChannel.inbox(agent_id),
                    message.model_dump_json().encode(),
                    timeout=ACK_TIMEOUT_SECONDS,
                )
            except (NoRespondersError, NatsTimeout):
                raise conflict(OFFLINE, field="sourceAgentId") from None
            try:
                ack = ChannelAck.model_validate_json(reply.data)
            except ValidationError:
                raise conflict(OFFLINE, field="sourceAgentId") from None
            if not ack.accepted:
                return ReachOutcome(None, refused=ack.error or "refused by the agent")
            try:
                wait = timeout_ms / 1000 + RESULT_SLACK_SECONDS
                return ReachOutcome(await asyncio.wait_for(asyncio.shield(future), wait))
            except TimeoutError:
                return ReachOutcome(None)
        finally:
            self.pending.pop(check_id, None)
