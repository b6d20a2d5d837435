"""Heartbeats over the agent channel: `ap.agent.<id>.hb` from an authenticated agent.

The subject is the agent's identity: NATS permissions let only that agent (or a service)
publish there, so no token is checked. The beat becomes a `RecordBeat` on the same path the
HTTP dialects use, which routes it to the owner of the agent's partition.
"""

from __future__ import annotations

from uuid import UUID

from nats.aio.client import Client
from nats.aio.msg import Msg
from pydantic import ValidationError

from agentplane.contracts.channel import ChannelBeat
from agentplane.contracts.errors import ErrorBody, ErrorKind
from agentplane.contracts.liveness import RecordBeat
from agentplane.contracts.reply import Reply
from agentplane.contracts.subjects import AgentChannel, Heartbeat

MAX_CHANNEL_BEAT_BYTES = 16 * 1024


async def subscribe_channel_beats(nc: Client, service: str) -> None:
    async def refuse(msg: Msg, message: str) -> None:
        if msg.reply:
            error = ErrorBody(kind=ErrorKind.VALIDATION, message=message)
            await nc.publish(msg.reply, Reply.failure(error).model_dump_json().encode())

    async def on_beat(msg: Msg) -> None:
        if len(msg.data) > MAX_CHANNEL_BEAT_BYTES:
            await refuse(msg, f"heartbeat larger than {MAX_CHANNEL_BEAT_BYTES} bytes")
            return
        try:
            agent_id = UUID(AgentChannel.agent_of(msg.subject))
            beat = ChannelBeat.model_validate_json(msg.data or b"{}")
        except (ValueError, ValidationError, IndexError):
            await refuse(msg, "invalid channel heartbeat")
            return
        telemetry = {"status": beat.status, "system": beat.system, "via": "channel"}
        record = RecordBeat(agent_id=agent_id, telemetry=telemetry)
        await nc.publish(Heartbeat.RECORD, record.model_dump_json().encode(), reply=msg.reply)

    subject = AgentChannel.from_any_agent(AgentChannel.HEARTBEAT)
    await nc.subscribe(subject, queue=service, cb=on_beat)
