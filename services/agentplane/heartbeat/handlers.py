"""NATS handlers of the heartbeat service."""

from __future__ import annotations

from pydantic import BaseModel

from agentplane.bus.handlers import replying
from agentplane.bus.host import ServiceHost
from agentplane.bus.requests import BusClient
from agentplane.contracts.agents import AuthenticateAgent
from agentplane.contracts.liveness import AgentBeat, BeatAccepted, LivenessQuery
from agentplane.contracts.subjects import Heartbeat as Subjects
from agentplane.contracts.subjects import Registry
from agentplane.heartbeat.application import LivenessEngine, epoch_to_datetime


def register_handlers(host: ServiceHost, engine: LivenessEngine, bus: BusClient) -> None:
    @replying(AgentBeat)
    async def beat(cmd: AgentBeat) -> BaseModel:
        # The registry owns credentials; an error reply (401) propagates unchanged.
        await bus.request(
            Registry.AGENT_AUTHENTICATE, AuthenticateAgent(agent_id=cmd.agent_id, token=cmd.token)
        )
        seen = engine.beat(cmd.agent_id)
        return BeatAccepted(agent_id=cmd.agent_id, last_seen_at=epoch_to_datetime(seen))

    @replying(LivenessQuery)
    async def liveness(query: LivenessQuery) -> BaseModel:
        return engine.query(query)

    host.handle(Subjects.BEAT, beat)
    host.handle(Subjects.LIVENESS_QUERY, liveness)
