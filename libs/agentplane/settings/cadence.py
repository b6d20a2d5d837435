"""How often agents beat and how many beats they may miss: what the hub tells agents (gateway,
messaging, registry) and what the heartbeat service holds them to."""

from __future__ import annotations

from pydantic import Field

from agentplane.contracts.device import DEVICE_DIALECT
from agentplane.contracts.orchestrator import ORCHESTRATOR_DIALECT
from agentplane.settings.shared import SharedSettings


class HeartbeatCadence(SharedSettings):
    """Heartbeat intervals per dialect, the missed beats allowed, and the partitioning."""

    # Seed 000 agents are expected to heartbeat every 30 s; three missed beats mean offline.
    heartbeat_interval_seconds: float = 30.0
    heartbeat_missed_beats: int = 3
    # Seed 003: how often device agents are expected to heartbeat; missing
    # `heartbeat_missed_beats` of them (3) marks a device offline.
    device_heartbeat_interval_seconds: float = Field(default=30.0, gt=0)
    # The `heartbeatInterval` orchestrator agents are told at registration; missing
    # `heartbeat_missed_beats` of them (3) marks an agent offline.
    orchestrator_heartbeat_interval_seconds: int = Field(default=30, ge=1)
    # N heartbeat replicas each own partitions of the agents (crc32(agent_id) % partitions):
    # the gateway routes beats to the owner, the heartbeat service owns them.
    heartbeat_partitions: int = Field(default=1, ge=1, le=1024)

    def heartbeat_interval_of(self, dialect: str) -> float:
        """The interval the hub dictates to an agent of `dialect` (its channel's `config`)."""
        if dialect == DEVICE_DIALECT:
            return self.device_heartbeat_interval_seconds
        if dialect == ORCHESTRATOR_DIALECT:
            return float(self.orchestrator_heartbeat_interval_seconds)
        return self.heartbeat_interval_seconds

    @property
    def offline_after_seconds(self) -> float:
        return self.heartbeat_interval_seconds * self.heartbeat_missed_beats
