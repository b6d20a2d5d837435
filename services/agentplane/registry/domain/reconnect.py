"""Reconnects reported by agents (seed 003 `reconnect_reason`), as events of the Agent.

The first heartbeat after a gap says why the agent was away and when its process started;
that is a fact worth keeping (it shows in the agent's audit log as `reconnected`). The event
holds only what the agent reported, never a credential.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from eventsourcing.utils import register_topic

from agentplane.registry.domain.agent import Agent


@dataclass(frozen=True)
class ReportedReconnect:
    """One reconnect as the agent reported it."""

    reason: str
    process_start_time: datetime | None
    reported_at: datetime


class Reconnected(Agent.Event):
    """The agent came back after a gap and said why (`reason`) and when its process started;
    `reported_at` is the timestamp of the heartbeat that said so."""

    TOPIC = "agent.Reconnected"
    reason: str
    process_start_time: datetime | None
    reported_at: datetime

    def apply(self, aggregate: Any) -> None:
        aggregate.last_reconnect = ReportedReconnect(
            self.reason, self.process_start_time, self.reported_at
        )


# Defined outside the Agent class body, so its explicit topic is registered here.
register_topic(Reconnected.TOPIC, Reconnected)


def record_reconnect(agent: Agent, reconnect: ReportedReconnect) -> bool:
    """Record a reported reconnect; False when it is the one recorded last (a heartbeat the
    agent sent again because it missed our answer must not count as a second reconnect)."""
    if getattr(agent, "last_reconnect", None) == reconnect:
        return False
    agent.trigger_event(
        Reconnected,
        reason=reconnect.reason,
        process_start_time=reconnect.process_start_time,
        reported_at=reconnect.reported_at,
    )
    return True
