"""Every setting of agentplane, parsed once at the edge from `AGENTPLANE_*` variables."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from agentplane.contracts.device import DEVICE_DIALECT
from agentplane.contracts.orchestrator import ORCHESTRATOR_DIALECT


class Settings(BaseSettings):
    """Process settings; build one with `Settings()` in a composition root, never at import."""

    model_config = SettingsConfigDict(env_prefix="AGENTPLANE_", extra="ignore", frozen=True)

    data_dir: Path = Path(".data")
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    admin_token: str | None = None

    nats_url: str | None = Field(
        default=None, validation_alias=AliasChoices("NATS_URL", "AGENTPLANE_NATS_URL")
    )
    request_timeout: float = 5.0
    # NATS credentials for an external NATS (compose, deploy/); with the embedded nats-server
    # they are generated into the data dir and these stay unset. Services, gateway and CLI
    # connect as `nats_user`; the registry answers the auth callout as the callout user,
    # signs agents' user JWTs with the issuer account seed, and closes revoked agents'
    # connections as the system user.
    nats_user: str | None = None
    nats_password: str | None = None
    nats_callout_password: str | None = None
    nats_system_password: str | None = None
    nats_issuer_seed: str | None = None
    nats_observer_password: str | None = None
    # A NATS WebSocket listener (ws://, same authentication) for agents behind HTTP proxies;
    # off when unset. Only the embedded nats-server honours it.
    nats_websocket_port: int | None = None
    # The embedded nats-server's maximum message payload in bytes (its default, 1 MB, when
    # unset). Collections are paged by it, so lowering it only makes pages smaller.
    nats_max_payload: int | None = Field(default=None, ge=16 * 1024, le=64 * 1024 * 1024)
    # Where agents are told to reach NATS (`GET /v1/agent-channel`), comma-separated; default:
    # the NATS URL the gateway itself uses. Set it when agents see NATS under another name.
    agent_nats_url: str | None = None
    # Where agents are told to reach the NATS WebSocket listener; default: ws://127.0.0.1:<port>
    # of `nats_websocket_port` when that is set.
    agent_nats_websocket_url: str | None = None

    event_store: Literal["sqlite", "postgres"] = "sqlite"
    postgres_host: str = "127.0.0.1"
    postgres_port: int = 5432
    postgres_user: str = "agentplane"
    postgres_password: str = ""
    postgres_db: str = "agentplane"

    agent_token_ttl_seconds: int = 86400
    # Seed 003: after a rotated API key is delivered, the old key works until the new one is
    # first used or this many seconds have passed.
    device_key_grace_seconds: float = 60.0
    # Seed 003: how often device agents are expected to heartbeat; missing
    # `heartbeat_missed_beats` of them (3) marks a device offline.
    device_heartbeat_interval_seconds: float = Field(default=30.0, gt=0)
    # Seed 004: PAP agents are reachable as `{name}.{agent_domain}` (plugged.in uses
    # is.plugged.in); a local default that resolves nowhere public.
    agent_domain: str = "agents.local"

    # Seed 002 orchestrator agents: lifetimes of the bearer JWT and of the client certificate
    # (renewed through heartbeats within the last `renew_before`), and the config they get.
    orchestrator_jwt_ttl_seconds: int = Field(default=86400, ge=60)
    orchestrator_cert_ttl_seconds: int = Field(default=86400, ge=300)
    orchestrator_cert_renew_before_seconds: int = Field(default=3600, ge=60)
    orchestrator_task_poll_interval_seconds: int = Field(default=5, ge=1)
    # The `heartbeatInterval` orchestrator agents are told at registration; missing
    # `heartbeat_missed_beats` of them (3) marks an agent offline.
    orchestrator_heartbeat_interval_seconds: int = Field(default=30, ge=1)
    orchestrator_log_level: str = "info"
    # mTLS for agent endpoints: a TLS terminator on `tls_port` (off when unset) that requires a
    # client certificate of the internal CA and forwards to the gateway. Its server certificate
    # comes from `tls_cert_file`/`tls_key_file`, or is issued by the CA for `tls_server_names`.
    tls_port: int | None = None
    tls_host: str = "127.0.0.1"
    tls_server_names: str = "localhost,127.0.0.1"
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None

    # Seed 000 agents are expected to heartbeat every 30 s; three missed beats mean offline.
    heartbeat_interval_seconds: float = 30.0
    heartbeat_missed_beats: int = 3
    liveness_sweep_seconds: float = 1.0
    liveness_grace_seconds: float = 5.0
    # N heartbeat replicas each own partitions of the agents (crc32(agent_id) % partitions);
    # `heartbeat_partition` lists the ones this replica owns ("0,2"; empty = all).
    heartbeat_partitions: int = Field(default=1, ge=1, le=1024)
    heartbeat_partition: str = ""
    # A verified agent token is trusted this long without asking the registry again
    # (registry events of the agent invalidate it at once; this is the safety net). Each
    # beating agent costs the registry one check per period: 1M agents / 300 s ≈ 3,300/s.
    heartbeat_credential_cache_seconds: float = 300.0
    # Benchmarks only: answer `ap.heartbeat.bench.fill` (synthetic agents for memory figures).
    heartbeat_bench: bool = False

    # Only tests may run an event store in memory; startup refuses it otherwise.
    allow_memory_store: bool = False
    log_level: str = "INFO"

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

    def service_data_dir(self) -> Path:
        path = self.data_dir.resolve()
        path.mkdir(parents=True, exist_ok=True)
        return path

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
