"""Every setting of agentplane: the whole set, validated once at the edge.

Each process parses only its own class (`GatewaySettings`, `RegistrySettings`, …, all from
`SharedSettings`); the launcher (`agentplane run`), the CLI and tests build `Settings`, which
composes them all, so a bad value fails at start rather than in one child later.
"""

from __future__ import annotations

from pydantic import Field

from agentplane.settings.diagnostics import DiagnosticsSettings
from agentplane.settings.edge import EdgeSettings
from agentplane.settings.gateway import GatewaySettings
from agentplane.settings.heartbeat import HeartbeatSettings
from agentplane.settings.lifecycle import LifecycleSettings
from agentplane.settings.messaging import MessagingSettings
from agentplane.settings.registry import RegistrySettings
from agentplane.settings.webhooks import WebhooksSettings


class Settings(
    GatewaySettings,
    RegistrySettings,
    HeartbeatSettings,
    MessagingSettings,
    LifecycleSettings,
    DiagnosticsSettings,
    EdgeSettings,
    WebhooksSettings,
):
    """The whole set (launcher, CLI, tests); build one in a composition root, never at import."""

    # The embedded nats-server's maximum message payload in bytes (its default, 1 MB, when
    # unset). Collections are paged by it, so lowering it only makes pages smaller.
    nats_max_payload: int | None = Field(default=None, ge=16 * 1024, le=64 * 1024 * 1024)
    # The observer role's NATS password (`agentplane nats-credentials --role observer`; external
    # NATS only, generated into the data dir with the embedded one).
    nats_observer_password: str | None = None
