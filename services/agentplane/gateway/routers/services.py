"""Seed 001 services: the catalog (registry) joined with each service's health (diagnostics)."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response

from agentplane.bus.requests import BusClient
from agentplane.contracts.diagnostics import CheckAnswer, RunCheck
from agentplane.contracts.errors import ServiceError
from agentplane.contracts.http.services import (
    ExternalServiceBody,
    RegisterServiceBody,
    SubdomainBody,
    UpdateServiceBody,
)
from agentplane.contracts.service_health import ServiceHealth
from agentplane.contracts.services import (
    CheckSubdomain,
    CreateExternalService,
    DeleteService,
    GetService,
    ListServices,
    RegisterService,
    RenameService,
    ServiceProtocol,
    ServiceRecord,
    SetSubdomain,
    SubdomainAvailability,
    public_url,
)
from agentplane.contracts.subjects import Diagnostics, Registry
from agentplane.gateway.agent_views import ms_text
from agentplane.gateway.auth import Bus, Workspace
from agentplane.gateway.formats import iso_ms
from agentplane.gateway.idempotency import IDEMPOTENCY_RESPONSES, IdempotencyKey, idempotency
from agentplane.gateway.paging import Cursor, Item, Limit, collection, paged_responses
from agentplane.gateway.service_health import health_of

router = APIRouter(tags=["services (seed 001)"])

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Invalid request (the field is named)"},
    401: {"description": "Missing or invalid API key"},
    404: {"description": "Service (or agent) not found in this workspace"},
    503: {"description": "A service is unavailable; try again"},
}
CONFLICT = {409: {"description": "Name (or subdomain) already taken"}}
# The initial check of an external service takes at most the check timeout (5 s default).
INITIAL_CHECK_TIMEOUT_SECONDS = 30.0


def _domain(request: Request) -> str:
    return str(request.app.state.settings.public_domain)


def service_json(doc: Item, health: ServiceHealth | None, domain: str) -> Item:
    """A catalog document (`ServiceRecord` JSON) as seed 001 shows it."""
    return {
        "id": doc["id"],
        "name": doc["name"],
        "agentId": doc["agent_id"],
        "targetHost": doc["target_host"],
        "targetPort": doc["target_port"],
        "tunnelPort": doc["tunnel_port"],
        "protocol": doc["protocol"],
        "status": (health.status.value if health else "unknown"),
        "isPublic": doc["is_public"],
        "isExternal": doc["is_external"],
        "publicSubdomain": doc["public_subdomain"],
        "publicUrl": public_url(doc["public_subdomain"], domain),
        "lastCheckAt": iso_ms(health.last_check_at) if health else None,
        "lastCheckStatus": health.last_check_status if health else None,
        "createdAt": ms_text(doc["created_at"]),
    }


async def _shown(bus: BusClient, record: ServiceRecord, domain: str) -> Item:
    health = (await health_of(bus, record.workspace_id, [record.id])).get(record.id)
    return service_json(record.model_dump(mode="json"), health, domain)


@router.post("/v1/services/register", responses={**ERRORS, **CONFLICT, **IDEMPOTENCY_RESPONSES})
async def register(
    body: RegisterServiceBody,
    ws: Workspace,
    bus: Bus,
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    """An agent exposes `targetHost:targetPort`: reachable on the hub's `tunnelPort`."""
    record = ServiceRecord.model_validate(
        await bus.request(
            Registry.SERVICE_REGISTER,
            RegisterService(
                workspace_id=ws.workspace_id,
                agent_id=body.agent_id,
                name=body.name,
                target_host=body.target_host,
                target_port=body.target_port,
                protocol=ServiceProtocol(body.protocol.value),
                is_public=body.is_public,
                idempotency=idempotency(
                    idempotency_key, ws.workspace_id, "services.register", body
                ),
            ),
        )
    )
    return {"success": True, "service": await _shown(bus, record, _domain(request))}


@router.post("/v1/services/external", responses={**ERRORS, **CONFLICT, **IDEMPOTENCY_RESPONSES})
async def external(
    body: ExternalServiceBody,
    ws: Workspace,
    bus: Bus,
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    """A target no agent exposes; checked from the hub at once, then periodically."""
    record = ServiceRecord.model_validate(
        await bus.request(
            Registry.SERVICE_CREATE_EXTERNAL,
            CreateExternalService(
                workspace_id=ws.workspace_id,
                name=body.name,
                target_host=body.target_host,
                target_port=body.target_port,
                protocol=ServiceProtocol(body.protocol.value),
                idempotency=idempotency(
                    idempotency_key, ws.workspace_id, "services.external", body
                ),
            ),
        )
    )
    shown = service_json(record.model_dump(mode="json"), None, _domain(request))
    if record.protocol != ServiceProtocol.UDP:
        try:
            answer = CheckAnswer.model_validate(
                await bus.request(
                    Diagnostics.CHECK,
                    RunCheck(workspace_id=ws.workspace_id, service_id=record.id),
                    timeout=INITIAL_CHECK_TIMEOUT_SECONDS,
                )
            )
        except ServiceError:
            # The service is saved: never report it as failed. The periodic checks run it.
            pass
        else:
            shown = service_json(record.model_dump(mode="json"), answer.health, _domain(request))
    return {"success": True, "service": shown}


@router.get(
    "/v1/services",
    responses={**paged_responses("The workspace's services, oldest first"), **ERRORS},
)
async def list_services(
    ws: Workspace,
    bus: Bus,
    request: Request,
    limit: Limit = None,
    cursor: Cursor = None,
    # A UUID or nothing: anything else is a 400 naming agentId, never an error in the query.
    agent_id: Annotated[UUID | None, Query(alias="agentId")] = None,
) -> Response:
    """Every service of the workspace (streamed), or one page with `limit`/`cursor`."""
    domain = _domain(request)

    async def fetch(after: str | None, size: int) -> tuple[list[Item], str | None]:
        query = ListServices(workspace_id=ws.workspace_id, after=after, limit=size,
                             agent_id=agent_id)  # fmt: skip
        page = await bus.request(Registry.SERVICE_LIST, query)
        docs: list[Item] = page["services"]
        health = await health_of(bus, ws.workspace_id, [d["id"] for d in docs])
        return [service_json(d, health.get(d["id"]), domain) for d in docs], page.get("next_after")

    return await collection(fetch, limit, cursor)


@router.get("/v1/services/{service_id}", responses=ERRORS)
async def get_service(service_id: str, ws: Workspace, bus: Bus, request: Request) -> Item:
    record = ServiceRecord.model_validate(
        await bus.request(
            Registry.SERVICE_GET, GetService(workspace_id=ws.workspace_id, service_id=service_id)
        )
    )
    return await _shown(bus, record, _domain(request))


@router.patch("/v1/services/{service_id}", responses={**ERRORS, **CONFLICT})
async def update_service(
    service_id: str, body: UpdateServiceBody, ws: Workspace, bus: Bus, request: Request
) -> dict[str, Any]:
    record = ServiceRecord.model_validate(
        await bus.request(
            Registry.SERVICE_RENAME,
            RenameService(workspace_id=ws.workspace_id, service_id=service_id, name=body.name),
        )
    )
    return {"success": True, "service": await _shown(bus, record, _domain(request))}


@router.delete("/v1/services/{service_id}", responses=ERRORS)
async def delete_service(service_id: str, ws: Workspace, bus: Bus) -> dict[str, Any]:
    """Its tunnel port and subdomain become free; then the service answers 404."""
    await bus.request(
        Registry.SERVICE_DELETE, DeleteService(workspace_id=ws.workspace_id, service_id=service_id)
    )
    return {"success": True}


@router.patch("/v1/services/{service_id}/subdomain", responses={**ERRORS, **CONFLICT})
async def set_subdomain(
    service_id: str, body: SubdomainBody, ws: Workspace, bus: Bus, request: Request
) -> dict[str, Any]:
    """A vanity subdomain (stored with the `pc-` prefix) for a public service; null clears."""
    record = ServiceRecord.model_validate(
        await bus.request(
            Registry.SERVICE_SET_SUBDOMAIN,
            SetSubdomain(
                workspace_id=ws.workspace_id, service_id=service_id, subdomain=body.subdomain
            ),
        )
    )
    return {
        "success": True,
        "service": {
            "id": record.id,
            "publicSubdomain": record.public_subdomain,
            "isPublic": record.is_public,
            "publicUrl": public_url(record.public_subdomain, _domain(request)),
        },
    }


@router.get("/v1/services/{service_id}/subdomain/check", responses=ERRORS)
async def check_subdomain(
    service_id: str,
    ws: Workspace,
    bus: Bus,
    subdomain: Annotated[str, Query(max_length=100)],
) -> dict[str, Any]:
    """Whether a subdomain is valid and free (taken anywhere, by any workspace: not free)."""
    found = SubdomainAvailability.model_validate(
        await bus.request(
            Registry.SERVICE_CHECK_SUBDOMAIN,
            CheckSubdomain(
                workspace_id=ws.workspace_id, service_id=service_id, subdomain=subdomain
            ),
        )
    )
    if found.available:
        return {"available": True, "valid": True, "subdomain": found.subdomain,
                "publicUrl": found.public_url}  # fmt: skip
    return {"available": False, "valid": found.valid, "error": found.error}
