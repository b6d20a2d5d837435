"""Settings parsed from the environment (`AGENTPLANE_*`, `NATS_URL`)."""

from agentplane.settings.settings import Settings

__all__ = ["Settings"]
