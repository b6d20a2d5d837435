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

    # The edge (data plane, DESIGN §2): tunnel listeners on the catalog's tunnel ports (on
    # `tunnel_host`), the data port agents dial back to for each visitor connection, and the
    # public HTTP(S) listener that routes `pc-<subdomain>.<public_domain>` hosts.
    tunnel_host: str = "127.0.0.1"
    # The range the registry allocates service tunnel ports from ("first-last").
    tunnel_ports: str = Field(default="50000-50999", pattern=r"^\d{1,5}-\d{1,5}$")
    edge_data_host: str = "127.0.0.1"
    # 0: any free port (each tunnel.open tells the agent the port).
    edge_data_port: int = Field(default=0, ge=0, le=65535)
    # The address agents dial (in tunnel.open; the data port's certificate names it);
    # default: `edge_data_host`, or 127.0.0.1 when that is a wildcard address.
    edge_data_advertise_host: str | None = None
    # `always`: every data connection is TLS (internal CA). `off-loopback`: an agent on the
    # edge's own loopback dials plain TCP (still with its one-time token), like NATS there.
    edge_data_tls: Literal["always", "off-loopback"] = "off-loopback"
    # The edge reloads its routes on every `service.*` integration event and this often.
    edge_routes_refresh_seconds: float = Field(default=5.0, gt=0)
    # How long a visitor connection waits for the agent's data connection.
    edge_open_timeout_seconds: float = Field(default=10.0, gt=0)
    public_domain: str = "localhost"
    # The public HTTP(S) listener (off when unset): HTTPS with the wildcard certificate of
    # `public_tls_cert_file`/`public_tls_key_file`, or one the internal CA issues for
    # `*.<public_domain>` when `public_tls_internal_ca`; plain HTTP otherwise.
    public_http_port: int | None = Field(default=None, ge=0, le=65535)
    public_http_host: str = "127.0.0.1"
    public_tls_cert_file: Path | None = None
    public_tls_key_file: Path | None = None
    public_tls_internal_ca: bool = False

    # Diagnostics (seed 001): every service is checked from the hub this often (0: never);
    # `check_failure_threshold` failed checks in a row turn an active service `error`,
    # `check_success_threshold` passed ones turn it back (the first check decides at once).
    # `diagnostics_ca_file` adds a trusted CA for TLS checks (e.g. an internal CA).
    # `diagnostics_scheduler`: this replica runs the periodic checks (one replica should).
    check_interval_seconds: float = Field(default=60.0, ge=0)
    check_timeout_seconds: float = Field(default=5.0, gt=0)
    check_failure_threshold: int = Field(default=3, ge=1)
    check_success_threshold: int = Field(default=1, ge=1)
    check_concurrency: int = Field(default=100, ge=1)
    diagnostics_ca_file: Path | None = None
    diagnostics_scheduler: bool = True

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

    # PAP lifecycle (seed 004): who deploys an agent's resources (`local`: the reference agent
    # as a local process; `none`: nothing is deployed and the answers say so). A drain that
    # has not finished after `drain_timeout` seconds, and an agent UNHEALTHY for longer than
    # `kill_after` seconds, are KILLED by the control plane.
    provisioner: Literal["none", "local", "kubernetes"] = "local"
    # Where agents the local provisioner starts reach the gateway (default: this machine's
    # http_host:http_port).
    provisioner_gateway_url: str | None = None
    # `kubernetes`: where and how (README "Kubernetes provisioner"). The client reads
    # `k8s_kubeconfig` (else $KUBECONFIG, else ~/.kube/config), or the in-cluster service
    # account when none exists.
    k8s_namespace: str = Field(default="agents", pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    k8s_kubeconfig: str | None = None
    k8s_context: str | None = None
    k8s_ingress_class: str | None = None
    k8s_cluster_issuer: str | None = None
    k8s_container_port: int = Field(default=8080, ge=1, le=65535)
    drain_timeout_seconds: float = Field(default=30.0, gt=0)
    kill_after_seconds: float = Field(default=300.0, gt=0)

    # Lifecycle webhooks: targets on private, loopback and link-local addresses are refused
    # (SSRF) unless this is true; failed deliveries are retried after base·2^(n-1) seconds
    # (capped at `retry_max`, with jitter) until `retry_window` has passed since the first
    # attempt (at least 24 h by default); each attempt may take `timeout` seconds.
    webhooks_allow_private: bool = False
    webhooks_retry_base_seconds: float = Field(default=5.0, gt=0)
    webhooks_retry_max_seconds: float = Field(default=3600.0, gt=0)
    webhooks_retry_window_seconds: float = Field(default=86400.0, gt=0)
    webhooks_timeout_seconds: float = Field(default=10.0, gt=0)

    # Rate limits (README "Rate limits"). `all`: every route of every dialect that a workspace
    # key authenticates counts against the workspace's tier (seed 004 numbers), every route an
    # agent credential authenticates against the agent's own limit below; `pap`: only the
    # seed 004 routes, per workspace (the test suite's systems: their tests send thousands of
    # requests with one free-tier key).
    rate_limit_scope: Literal["all", "pap"] = "all"
    # Per agent (device, orchestrator, seed 000 token, agent channel): generous next to a beat
    # every 30 s and a task poll every 5 s.
    agent_rate_limit_per_minute: int = Field(default=600, ge=1)
    agent_rate_limit_burst: int = Field(default=60, ge=1)
    # Failed authentications (401) per client address within any 60 s; beyond it every
    # request from that address answers 429 with Retry-After until the window frees (0: off).
    auth_failure_limit_per_minute: int = Field(default=60, ge=0)
    # Gateways share what they admitted through NATS, batched for at most this long; two
    # replicas may together overshoot a limit by what one admits in this interval.
    rate_limit_sync_seconds: float = Field(default=0.01, gt=0, le=1.0)

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

    @property
    def tunnel_port_range(self) -> range:
        first, last = (int(n) for n in self.tunnel_ports.split("-"))
        if not 1 <= first <= last <= 65535:
            raise ValueError(f"AGENTPLANE_TUNNEL_PORTS {self.tunnel_ports!r} is not a port range")
        return range(first, last + 1)

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
