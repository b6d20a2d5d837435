"""Settings of the gateway (HTTP API, agent channel, mTLS terminator)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from agentplane.settings.addresses import Addresses
from agentplane.settings.cadence import HeartbeatCadence


class GatewaySettings(HeartbeatCadence, Addresses):
    """What the gateway and its TLS terminator read."""

    admin_token: str | None = None
    # A NATS WebSocket listener (ws://, same authentication) for agents behind HTTP proxies;
    # off when unset. Only the embedded nats-server honours it.
    nats_websocket_port: int | None = None
    # Where agents are told to reach NATS (`GET /v1/agent-channel`), comma-separated; default:
    # the NATS URL the gateway itself uses. Set it when agents see NATS under another name.
    agent_nats_url: str | None = None
    # Where agents are told to reach the NATS WebSocket listener; default: ws://127.0.0.1:<port>
    # of `nats_websocket_port` when that is set.
    agent_nats_websocket_url: str | None = None
    # mTLS for agent endpoints: a TLS terminator on `tls_port` (off when unset) that requires a
    # client certificate of the internal CA and forwards to the gateway. Its server certificate
    # comes from `tls_cert_file`/`tls_key_file`, or is issued by the CA for `tls_server_names`.
    tls_port: int | None = None
    tls_host: str = "127.0.0.1"
    tls_server_names: str = "localhost,127.0.0.1"
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None

    # Rate limits (README "Rate limits"). `all`: every route of every dialect that a workspace
    # key authenticates counts against the workspace's tier (seed 004 numbers), every route an
    # agent credential authenticates against the agent's own limit below; `pap`: only the
    # seed 004 routes, per workspace.
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
