"""Composition root of the diagnostics service: hub checks, reach checks through agents,
periodic checks and the health (status) of every catalog service."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from agentplane.bus.host import ServiceHost, configure_logging
from agentplane.bus.requests import BusClient
from agentplane.diagnostics.application import Diagnostics
from agentplane.diagnostics.checker import HubChecker
from agentplane.diagnostics.domain.health import Thresholds
from agentplane.diagnostics.flows import DiagnosticsFlows
from agentplane.diagnostics.handlers import register_handlers
from agentplane.diagnostics.reach import ReachChecks
from agentplane.diagnostics.scheduler import Scheduler
from agentplane.diagnostics.store import DiagnosticsStore
from agentplane.eventstore.relay import OutboxRelay, ensure_events_stream
from agentplane.eventstore.views import open_view_store
from agentplane.security.nats_credentials import service_credential
from agentplane.settings import DiagnosticsSettings


@dataclass
class DiagnosticsService:
    host: ServiceHost
    app: Diagnostics


def build(settings: DiagnosticsSettings) -> DiagnosticsService:
    assert settings.nats_url, "NATS_URL is required"
    host = ServiceHost("diagnostics", settings.nats_url, service_credential(settings))
    store = DiagnosticsStore.from_settings(settings)
    views = open_view_store(settings, "diagnostics")
    thresholds = Thresholds(
        failures=settings.check_failure_threshold, successes=settings.check_success_threshold
    )
    app = Diagnostics(store, views, thresholds)
    checker = HubChecker(
        settings.tunnel_host, settings.check_timeout_seconds, settings.diagnostics_ca_file
    )
    scheduler = Scheduler(
        app,
        checker,
        settings.check_interval_seconds if settings.diagnostics_scheduler else 0,
        settings.check_concurrency,
    )

    async def start() -> None:
        nc = host.broker.connection
        js = nc.jetstream()
        await ensure_events_stream(js)
        relay = OutboxRelay(store, js, views)
        await relay.start()
        reach = ReachChecks(nc)
        await reach.subscribe()
        bus = BusClient(nc, settings.request_timeout)
        register_handlers(host, DiagnosticsFlows(app, bus, checker, reach, scheduler, relay))
        host.loop(relay.run)
        host.loop(scheduler.run)

    host.on_start(start)
    return DiagnosticsService(host=host, app=app)


def main() -> None:
    settings = DiagnosticsSettings()
    configure_logging(settings.log_level)
    asyncio.run(build(settings).host.serve())


if __name__ == "__main__":
    main()
