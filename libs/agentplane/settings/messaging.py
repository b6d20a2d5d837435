"""Settings of the messaging service (commands, tasks, messages, agent channel)."""

from __future__ import annotations

from agentplane.settings.cadence import HeartbeatCadence


class MessagingSettings(HeartbeatCadence):
    """What the messaging service reads (the intervals it tells agents on the channel)."""
