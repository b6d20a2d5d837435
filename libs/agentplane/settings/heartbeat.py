"""Settings of the heartbeat service (liveness, telemetry)."""

from __future__ import annotations

from agentplane.settings.cadence import HeartbeatCadence


class HeartbeatSettings(HeartbeatCadence):
    """What the heartbeat service reads."""

    liveness_sweep_seconds: float = 1.0
    liveness_grace_seconds: float = 5.0
    # The heartbeat partitions this replica owns ("0,2"; empty = all).
    heartbeat_partition: str = ""
    # A verified agent token is trusted this long without asking the registry again
    # (registry events of the agent invalidate it at once; this is the safety net). Each
    # beating agent costs the registry one check per period: 1M agents / 300 s ≈ 3,300/s.
    heartbeat_credential_cache_seconds: float = 300.0
    # Benchmarks only: answer `ap.heartbeat.bench.fill` (synthetic agents for memory figures).
    heartbeat_bench: bool = False

    def owned_heartbeat_partitions(self) -> list[int]:
        """The heartbeat partitions this replica owns (all of them by default)."""
        if not self.heartbeat_partition.strip():
            return list(range(self.heartbeat_partitions))
        owned = sorted({int(p) for p in self.heartbeat_partition.split(",") if p.strip()})
        if any(not 0 <= p < self.heartbeat_partitions for p in owned):
            raise ValueError(
                f"AGENTPLANE_HEARTBEAT_PARTITION {self.heartbeat_partition!r} is outside "
                f"0..{self.heartbeat_partitions - 1}"
            )
        return owned
