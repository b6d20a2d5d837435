"""Health of catalog services as the diagnostics service knows it (`Diagnostics.HEALTH`).

The catalog (registry) says what a service is; diagnostics says how it is: the status the
seed 001 document defines and the last check. The gateway joins the two per page.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

MAX_HEALTH_IDS = 5000


class ServiceStatus(StrEnum):
    """Seed 001 service status."""

    ACTIVE = "active"  # the last checks succeeded
    INACTIVE = "inactive"  # registered, its exposing agent is offline
    ERROR = "error"  # checks failed (past the failure threshold)
    UNKNOWN = "unknown"  # not checked yet


class ServiceHealth(BaseModel):
    """One service's status and last check."""

    model_config = ConfigDict(frozen=True)

    service_id: str
    status: ServiceStatus = ServiceStatus.UNKNOWN
    last_check_at: datetime | None = None
    last_check_status: str | None = None  # "OK" or the failure, e.g. "TCP_FAILED"


class ServiceHealthQuery(BaseModel):
    """The health of these services of the workspace (unknown ids answer UNKNOWN)."""

    model_config = ConfigDict(frozen=True)

    workspace_id: str
    service_ids: list[str] = Field(max_length=MAX_HEALTH_IDS)


class ServiceHealthReport(BaseModel):
    """Health by service id, one entry per asked id."""

    model_config = ConfigDict(frozen=True)

    services: dict[str, ServiceHealth]
