"""NATS request handlers of the webhooks service."""

from __future__ import annotations

import asyncio

from pydantic import BaseModel

from agentplane.bus.handlers import replying
from agentplane.bus.host import ServiceHost
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
    @replying(CreateWebhook)
    async def create(cmd: CreateWebhook) -> BaseModel:
        await check_target(cmd.url, allow_private)
        return await asyncio.to_thread(webhooks.create, cmd)

    @replying(ListWebhooks)
    async def list_webhooks(query: ListWebhooks) -> BaseModel:
        return await asyncio.to_thread(webhooks.list, query)

    @replying(DeleteWebhook)
    async def delete(cmd: DeleteWebhook) -> BaseModel:
        deleted, cancelled = await asyncio.to_thread(webhooks.delete, cmd)
        scheduler.forget(cancelled)
        return deleted

    @replying(ListDeliveries)
    async def deliveries(query: ListDeliveries) -> BaseModel:
        return await asyncio.to_thread(webhooks.deliveries, query)

    host.handle(Subjects.CREATE, create)
    host.handle(Subjects.LIST, list_webhooks)
    host.handle(Subjects.DELETE, delete)
    host.handle(Subjects.DELIVERIES, deliveries)
