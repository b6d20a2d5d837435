"""A service's status from its checks (seed 001: unknown, active, error, inactive), with
thresholds against flapping. Pure: no clock, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from agentplane.contracts.service_health import ServiceStatus


@dataclass(frozen=True)
class Thresholds:
    """Consecutive results needed to leave an established state. The first check of a service
    decides at once (there is nothing to protect yet)."""

    failures: int = 3  # failed checks in a row before an active service turns error
    successes: int = 1  # passed checks in a row before an error service turns active


@dataclass(frozen=True)
class Health:
    """What diagnostics knows of one service."""

    checked: ServiceStatus = ServiceStatus.UNKNOWN  # from checks alone
    ok_streak: int = 0
    fail_streak: int = 0
    last_check_at: datetime | None = None
    last_check_status: str | None = None
    cert_expires_at: datetime | None = None
    # None: an external service (no agent) or not heard of yet.
    agent_online: bool | None = None

    @property
    def status(self) -> ServiceStatus:
        """What the service shows: inactive while its agent is offline, else from checks."""
        if self.agent_online is False:
            return ServiceStatus.INACTIVE
        return self.checked


def after_check(
    health: Health,
    *,
    failure: str | None,
    at: datetime,
    cert_expires_at: datetime | None,
    thresholds: Thresholds,
) -> Health:
    """`failure` is None for a passed check, else what failed (e.g. `TCP_FAILED`)."""
    if failure is None:
        ok, fails = health.ok_streak + 1, 0
        checked = health.checked
        if checked == ServiceStatus.UNKNOWN or ok >= thresholds.successes:
            checked = ServiceStatus.ACTIVE
    else:
        ok, fails = 0, health.fail_streak + 1
        checked = health.checked
        if checked == ServiceStatus.UNKNOWN or fails >= thresholds.failures:
            checked = ServiceStatus.ERROR
    return replace(
        health,
        checked=checked,
        ok_streak=ok,
        fail_streak=fails,
        last_check_at=at,
        last_check_status=failure or "OK",
        # A failed handshake shows no certificate: the last one seen is still the best guess.
        cert_expires_at=cert_expires_at or health.cert_expires_at,
    )


def with_agent(health: Health, online: bool) -> Health:
    return replace(health, agent_online=online)
