"""Composition root of the heartbeat service."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from agentplane.bus.host import ServiceHost, configure_logging
from agentplane.bus.requests import BusClient
from agentplane.eventstore.relay import OutboxRelay
from agentplane.eventstore.views import PostgresViewStore, SQLiteViewStore, open_view_store
from agentplane.heartbeat.application import HeartbeatStore, LivenessEngine
from agentplane.heartbeat.handlers import register_handlers
from agentplane.settings import Settings

log = logging.getLogger("agentplane.heartbeat")


def build_engine(settings: Settings) -> LivenessEngine:
    checkpoints = (
        PostgresViewStore(settings, "heartbeat_checkpoint")
        if settings.event_store == "postgres"
        else SQLiteViewStore(settings.service_data_dir() / "heartbeat_checkpoint.sqlite")
    )
    return LivenessEngine(
        HeartbeatStore.from_settings(settings),
        open_view_store(settings, "heartbeat"),
        checkpoints,
        offline_after=settings.offline_after_seconds,
        grace=settings.liveness_grace_seconds,
    )


def _every(seconds: float, work: Callable[[], int], what: str) -> Callable[[], object]:
    async def loop() -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                await asyncio.to_thread(work)
            except Exception:
                log.exception("%s failed; retrying", what)

    return loop


def build(settings: Settings) -> ServiceHost:
    assert settings.nats_url, "NATS_URL is required"
    host = ServiceHost("heartbeat", settings.nats_url)
    engine = build_engine(settings)

    async def start() -> None:
        known = await asyncio.to_thread(engine.restore)
        log.info("restored liveness of %d agents", known)
        nc = host.broker.connection
        relay = OutboxRelay(engine.store, nc.jetstream(), engine.views)
        await relay.start()
        register_handlers(host, engine, BusClient(nc, settings.request_timeout))

        async def sweep() -> None:
            while True:
                await asyncio.sleep(settings.liveness_sweep_seconds)
                engine.sweep()

        def flush() -> int:
            saved = engine.flush_transitions()
            if saved:
                relay.wake()
            return saved

        host.loop(sweep)
        host.loop(_every(0.05, flush, "saving transitions"))
        host.loop(_every(2.0, engine.checkpoint, "checkpoint"))
        host.loop(relay.run)

    async def stop() -> None:
        await asyncio.to_thread(engine.flush_transitions)
        await asyncio.to_thread(engine.checkpoint)

    host.on_start(start)
    host.on_stop(stop)
    return host


def main() -> None:
    settings = Settings()
    configure_logging(settings.log_level)
    asyncio.run(build(settings).serve())


if __name__ == "__main__":
    main()
