"""Settings parsed from the environment (`AGENTPLANE_*`, `NATS_URL`): one class per process,
all from `SharedSettings`, and `Settings`, the whole set the launcher validates."""

from agentplane.settings.diagnostics import DiagnosticsSettings
from agentplane.settings.edge import EdgeSettings
from agentplane.settings.gateway import GatewaySettings
from agentplane.settings.heartbeat import HeartbeatSettings
from agentplane.settings.lifecycle import LifecycleSettings
from agentplane.settings.messaging import MessagingSettings
from agentplane.settings.registry import RegistrySettings
from agentplane.settings.settings import Settings
from agentplane.settings.shared import SharedSettings
from agentplane.settings.webhooks import WebhooksSettings

__all__ = [
    "DiagnosticsSettings",
    "EdgeSettings",
    "GatewaySettings",
    "HeartbeatSettings",
    "LifecycleSettings",
    "MessagingSettings",
    "RegistrySettings",
    "Settings",
    "SharedSettings",
    "WebhooksSettings",
]
