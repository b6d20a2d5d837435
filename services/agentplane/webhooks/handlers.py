"""The webhooks service's handler table: subject → (request model, use case, kind)."""

from __future__ import annotations

import asyncio

from pydantic import BaseModel

from agentplane.bus.host import ServiceHost
from agentplane.bus.routes import InThreads, query, raw, serve_routes
from agentplane.contracts.subjects import Webhooks as Subjects
from agentplane.contracts.webhooks import (
    CreateWebhook,
    DeleteWebhook,
    ListDeliveries,
    ListWebhooks,
)
from agentplane.webhooks.application import Webhooks
from agentplane.webhooks.scheduler import Scheduler
from agentplane.webhooks.targets import check_target


def register_handlers(
    host: ServiceHost, webhooks: Webhooks, scheduler: Scheduler, allow_private: bool
) -> None:
    async def create(cmd: CreateWebhook) -> BaseModel:
        await check_target(cmd.url, allow_private)
        return await asyncio.to_thread(webhooks.create, cmd)

    async def delete(cmd: DeleteWebhook) -> BaseModel:
        deleted, cancelled = await asyncio.to_thread(webhooks.delete, cmd)
        scheduler.forget(cancelled)
        return deleted

    routes = [
        raw(Subjects.CREATE, CreateWebhook, create),
        query(Subjects.LIST, ListWebhooks, webhooks.list),
        raw(Subjects.DELETE, DeleteWebhook, delete),
        query(Subjects.DELIVERIES, ListDeliveries, webhooks.deliveries),
    ]
    serve_routes(host, routes, InThreads())
