"""Composition root of the lifecycle service."""

from __future__ import annotations

import asyncio

from agentplane.bus.host import ServiceHost, configure_logging
from agentplane.eventstore.relay import ensure_events_stream
from agentplane.eventstore.views import open_view_store
from agentplane.lifecycle.application import AuditLogs
from agentplane.lifecycle.handlers import register_handlers
from agentplane.security.nats_credentials import service_credential
from agentplane.settings import Settings


def build(settings: Settings) -> ServiceHost:
    assert settings.nats_url, "NATS_URL is required"
    host = ServiceHost("lifecycle", settings.nats_url, service_credential(settings))
    audit = AuditLogs(open_view_store(settings, "lifecycle"))

    async def start() -> None:
        nc = host.broker.connection
        js = nc.jetstream()
        await ensure_events_stream(js)
        await asyncio.to_thread(audit.order_old_entries)
        audit.reply_budget = nc.max_payload // 2
        register_handlers(host, audit, js)

    host.on_start(start)
    return host


def main() -> None:
    settings = Settings()
    configure_logging(settings.log_level)
    asyncio.run(build(settings).serve())


if __name__ == "__main__":
    main()
