"""Composition root of the webhooks service: lifecycle transitions → signed HTTP deliveries.

A service of its own rather than part of lifecycle: it calls untrusted URLs that may be slow
or down for a day, so its retries, connection pool and store must never slow the state
machine (UNHEALTHY within 2 s) and it scales on its own. Run one replica: the in-order
guarantee per agent holds within one scheduler.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from agentplane.bus.host import ServiceHost, configure_logging
from agentplane.eventstore.views import open_view_store
from agentplane.security.nats_credentials import service_credential
from agentplane.settings import WebhooksSettings
from agentplane.webhooks.application import Webhooks, WebhooksStore
from agentplane.webhooks.fanout import fan_out_forever
from agentplane.webhooks.handlers import register_handlers
from agentplane.webhooks.scheduler import Scheduler
from agentplane.webhooks.secret_box import SecretBox
from agentplane.webhooks.sender import Sender


@dataclass
class WebhooksService:
    host: ServiceHost
    webhooks: Webhooks
    scheduler: Scheduler


def build(settings: WebhooksSettings) -> WebhooksService:
    assert settings.nats_url, "NATS_URL is required"
    host = ServiceHost("webhooks", settings.nats_url, service_credential(settings))
    store = WebhooksStore.from_settings(settings)
    webhooks = Webhooks(
        store,  # type: ignore[arg-type]
        open_view_store(settings, "webhooks"),
        SecretBox(settings.service_data_dir()),
        settings,
    )
    sender = Sender(settings.webhooks_allow_private, settings.webhooks_timeout_seconds)
    scheduler = Scheduler(webhooks.sending, sender)

    async def start() -> None:
        nc = host.broker.connection
        register_handlers(host, webhooks, scheduler, settings.webhooks_allow_private)
        await scheduler.load()
        host.loop(scheduler.run)
        host.loop(lambda: fan_out_forever(nc, webhooks.sending, scheduler))
        host.loop(webhooks.projector.run)

    async def stop() -> None:
        await scheduler.stop()
        await sender.close()

    host.on_start(start)
    host.on_stop(stop)
    return WebhooksService(host=host, webhooks=webhooks, scheduler=scheduler)


def main() -> None:
    settings = WebhooksSettings()
    configure_logging(settings.log_level)
    asyncio.run(build(settings).host.serve())


if __name__ == "__main__":
    main()
