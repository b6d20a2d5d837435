"""Settings of the webhooks service (lifecycle webhooks)."""

from __future__ import annotations

from pydantic import Field

from agentplane.settings.shared import SharedSettings


class WebhooksSettings(SharedSettings):
    """What the webhooks service reads.

    Targets on private, loopback and link-local addresses are refused (SSRF) unless
    `webhooks_allow_private`; failed deliveries are retried after base·2^(n-1) seconds (capped
    at `retry_max`, with jitter) until `retry_window` has passed since the first attempt (at
    least 24 h by default); each attempt may take `timeout` seconds.
    """

    webhooks_allow_private: bool = False
    webhooks_retry_base_seconds: float = Field(default=5.0, gt=0)
    webhooks_retry_max_seconds: float = Field(default=3600.0, gt=0)
    webhooks_retry_window_seconds: float = Field(default=86400.0, gt=0)
    webhooks_timeout_seconds: float = Field(default=10.0, gt=0)
