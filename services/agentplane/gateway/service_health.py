"""The diagnostics half of a service as the gateway shows it: status and last check, asked
for a page of catalog services at once (the catalog itself comes from the registry)."""

from __future__ import annotations

from agentplane.bus.requests import BusClient
from agentplane.contracts.service_health import (
    ServiceHealth,
    ServiceHealthQuery,
    ServiceHealthReport,
)
from agentplane.contracts.subjects import Diagnostics


async def health_of(bus: BusClient, workspace_id: str, ids: list[str]) -> dict[str, ServiceHealth]:
    """Health by service id (every asked id is in the answer)."""
    if not ids:
        return {}
    data = await bus.request(
        Diagnostics.HEALTH, ServiceHealthQuery(workspace_id=workspace_id, service_ids=ids)
    )
    return ServiceHealthReport.model_validate(data).services
