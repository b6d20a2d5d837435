"""Heartbeat domain: liveness timers and the transition events. Pure: no I/O."""

from agentplane.heartbeat.domain.events import Liveness
from agentplane.heartbeat.domain.liveness import AgentClock, LivenessTable, Transition

__all__ = ["AgentClock", "Liveness", "LivenessTable", "Transition"]
