"""Seed 000 agent lists (`GET /v1/agents`, `/online`, `/orchestration`, `/by-capability/…`,
`/expiring-tokens`): the whole list streamed, or a page with `limit` + `cursor` (see
`gateway.paging`). Included before the `/v1/agents/{agent_id}` routes."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel

from agentplane.bus.requests import BusClient
from agentplane.contracts.agent_credentials import (
    ExpiringTokenList,
    FindAgentsByCapability,
    ListExpiringTokens,
)
from agentplane.contracts.agents import ListAgents, ListAgentSummaries
from agentplane.contracts.online_agents import ListOnlineAgents
from agentplane.contracts.service_health import ServiceHealth
from agentplane.contracts.subjects import Registry
from agentplane.gateway.agent_views import (
    capability_of_doc,
    liveness_of_docs,
    service_ids_of_docs,
    services_of_doc,
    summary_of_doc,
)
from agentplane.gateway.auth import Bus, Workspace
from agentplane.gateway.formats import iso_ms
from agentplane.gateway.paging import Cursor, Item, Limit, collection, paged_responses
from agentplane.gateway.service_health import health_of

router = APIRouter(tags=["agents (seed 000)"])

CapabilityName = Annotated[str, Path(min_length=1, max_length=100)]


# What `_RegistryPages` asks the registry for.
RECORDS, SUMMARIES, ONLINE = "records", "summaries", "online"


class _RegistryPages:
    """The registry's pages of one listing, each requested as soon as the previous one
    names its position: the registry reads page k+1 while the gateway asks the heartbeat
    service for page k's liveness, or shows it (a 100,000-agent list is ~35 such rounds)."""

    def __init__(
        self,
        bus: BusClient,
        workspace_id: str,
        kind: str,
        limit: int | None,
        cursor: str | None,
    ) -> None:
        self.bus = bus
        # Only a whole list streamed reads ahead: a page asked with limit/cursor is the last.
        self.read_ahead = limit is None and cursor is None
        self.workspace_id = workspace_id
        self.kind = kind
        self._ahead: tuple[str, int, asyncio.Future[dict[str, Any]]] | None = None

    async def _request(self, after: str | None, limit: int) -> dict[str, Any]:
        ws = self.workspace_id
        if self.kind == SUMMARIES:
            query: BaseModel = ListAgentSummaries(workspace_id=ws, after=after, limit=limit)
            return await self.bus.request(Registry.AGENT_SUMMARIES, query)
        if self.kind == ONLINE:
            query = ListOnlineAgents(workspace_id=ws, after=after, limit=limit)
            return await self.bus.request(Registry.AGENT_ONLINE, query)
        query = ListAgents(workspace_id=ws, after=after, limit=limit)
        return await self.bus.request(Registry.AGENT_LIST, query)

    async def get(self, after: str | None, limit: int) -> dict[str, Any]:
        ahead, self._ahead = self._ahead, None
        if ahead is not None and ahead[:2] == (after, limit):
            page = await ahead[2]
        else:
            if ahead is not None:
                ahead[2].cancel()
            page = await self._request(after, limit)
        next_after = page.get("next_after")
        if next_after is not None and self.read_ahead:
            request = asyncio.ensure_future(self._request(next_after, limit))
            # Not awaited if the client goes away: its outcome is then nobody's concern.
            request.add_done_callback(lambda f: f.cancelled() or f.exception())
            self._ahead = (next_after, limit, request)
        return page


async def _agent_page(
    pages: _RegistryPages, after: str | None, limit: int
) -> tuple[list[Item], dict[str, Any], str | None]:
    """One page of the workspace's agents (`AgentRecord` or, enough for plain lists,
    `AgentSummary` JSON; oldest first), their liveness, and the next page's position."""
    page = await pages.get(after, limit)
    docs: list[Item] = page["agents"]
    return docs, await liveness_of_docs(pages.bus, docs), page.get("next_after")


@router.get("/v1/agents", responses=paged_responses("The workspace's agents, oldest first"))
async def list_agents(
    ws: Workspace, bus: Bus, limit: Limit = None, cursor: Cursor = None
) -> Response:
    """Every agent of the workspace (streamed), or one page with `limit`/`cursor`."""
    pages = _RegistryPages(bus, ws.workspace_id, SUMMARIES, limit, cursor)

    async def fetch(after: str | None, size: int) -> tuple[list[Item], str | None]:
        docs, live, next_after = await _agent_page(pages, after, size)
        return [summary_of_doc(d, live.get(d["id"])) for d in docs], next_after

    return await collection(fetch, limit, cursor)


@router.get(
    "/v1/agents/online",
    responses=paged_responses("The workspace's online agents, oldest first (a page may be "
                              "short: only a missing X-Next-Cursor ends the list)"),
)  # fmt: skip
async def list_online(
    ws: Workspace, bus: Bus, limit: Limit = None, cursor: Cursor = None
) -> Response:
    # The registry keeps the online agents of each page (it asks the heartbeat service).
    pages = _RegistryPages(bus, ws.workspace_id, ONLINE, limit, cursor)

    async def fetch(after: str | None, size: int) -> tuple[list[Item], str | None]:
        page = await pages.get(after, size)
        live: dict[str, Any] = page["liveness"]
        return [summary_of_doc(d, live[d["id"]]) for d in page["agents"]], page.get("next_after")

    return await collection(fetch, limit, cursor)


def _orchestrated(doc: Item, live: dict[str, Any] | None, health: dict[str, ServiceHealth]) -> Item:
    shown = summary_of_doc(doc, live)
    return {
        "id": shown["id"],
        "name": shown["name"],
        "label": shown["label"],
        "isOnline": shown["isOnline"],
        "lastSeenAt": shown["lastSeenAt"],
        "capabilities": [capability_of_doc(c) for c in doc.get("capabilities") or []],
        "services": services_of_doc(doc, health),
    }


@router.get(
    "/v1/agents/orchestration",
    responses=paged_responses("Every agent with its capabilities and services", "agents"),
)
async def orchestration(
    ws: Workspace, bus: Bus, limit: Limit = None, cursor: Cursor = None
) -> Response:
    pages = _RegistryPages(bus, ws.workspace_id, RECORDS, limit, cursor)

    async def fetch(after: str | None, size: int) -> tuple[list[Item], str | None]:
        docs, live, next_after = await _agent_page(pages, after, size)
        health = await health_of(bus, ws.workspace_id, service_ids_of_docs(docs))
        return [_orchestrated(d, live.get(d["id"]), health) for d in docs], next_after

    return await collection(fetch, limit, cursor, field="agents")


@router.get(
    "/v1/agents/by-capability/{name}",
    responses=paged_responses("Agents with a capability of exactly that name", "agents"),
)
async def by_capability(
    name: CapabilityName, ws: Workspace, bus: Bus, limit: Limit = None, cursor: Cursor = None
) -> Response:
    async def fetch(after: str | None, size: int) -> tuple[list[Item], str | None]:
        query = FindAgentsByCapability(
            workspace_id=ws.workspace_id, name=name, after=after, limit=size
        )
        page = await bus.request(Registry.AGENT_FIND_BY_CAPABILITY, query)
        docs: list[Item] = page["agents"]
        live = await liveness_of_docs(bus, docs)
        items = [
            {
                "id": doc["id"],
                "name": doc.get("name"),
                "isOnline": bool((live.get(doc["id"]) or {}).get("online")),
                "capability": capability_of_doc(
                    next(c for c in doc["capabilities"] if c["name"] == name)
                ),
            }
            for doc in docs
        ]
        return items, page.get("next_after")

    return await collection(fetch, limit, cursor, field="agents")


@router.get(
    "/v1/agents/expiring-tokens",
    responses=paged_responses("Agents whose token expires within a day, soonest first", "agents"),
)
async def expiring_tokens(
    ws: Workspace, bus: Bus, limit: Limit = None, cursor: Cursor = None
) -> Response:
    async def fetch(after: str | None, size: int) -> tuple[list[Item], str | None]:
        query = ListExpiringTokens(workspace_id=ws.workspace_id, after=after, limit=size)
        found = ExpiringTokenList.model_validate(
            await bus.request(Registry.AGENT_EXPIRING_TOKENS, query)
        )
        items = [
            {
                "id": str(e.agent_id),
                "name": e.name,
                "tokenExpiresAt": iso_ms(e.token_expires_at),
                "hoursUntilExpiry": e.hours_until_expiry,
            }
            for e in found.agents
        ]
        return items, found.next_after

    return await collection(fetch, limit, cursor, field="agents")
