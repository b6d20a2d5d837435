"""Composition root of the heartbeat service."""

from __future__ import annotations

import asyncio
import logging
import secrets
import time

from nats.aio.client import Client

from agentplane.bus.connection import connect
from agentplane.bus.host import ServiceHost, configure_logging
from agentplane.bus.requests import BusClient
from agentplane.contracts.device import DEVICE_DIALECT
from agentplane.contracts.liveness import partition_of
from agentplane.contracts.orchestrator import ORCHESTRATOR_DIALECT
from agentplane.eventstore.relay import OutboxRelay
from agentplane.eventstore.views import PostgresViewStore, SQLiteViewStore, open_view_store
from agentplane.heartbeat.application import HeartbeatStore, LivenessEngine
from agentplane.heartbeat.channel_beats import ChannelBeats
from agentplane.heartbeat.credentials import VerifiedTokens
from agentplane.heartbeat.domain.deadlines import Deadlines
from agentplane.heartbeat.handlers import register_handlers, subscribe_beats
from agentplane.heartbeat.intake import BeatIntake
from agentplane.heartbeat.invalidations import follow_registry_events, recover_trust
from agentplane.heartbeat.telemetry import ensure_telemetry_stream
from agentplane.security.nats_credentials import service_credential
from agentplane.security.secret_files import load_or_create_text_secret
from agentplane.settings import HeartbeatSettings

log = logging.getLogger("agentplane.heartbeat")

# Last-seen times only matter for display after a restart (deadlines restart fresh), so they
# are written every few seconds, in one transaction, only for agents that beat meanwhile.
CHECKPOINT_SECONDS = 5.0
# Every agent that beat is written on every this-many-th checkpoint (once a minute); the ones
# in between write only what a restart must not miss (new agents, intervals, online changes,
# token trust gained or lost). A restart may show a beating agent's last-seen time up to a
# minute old until its next beat; its deadline restarts fresh anyway.
FULL_CHECKPOINT_EVERY = 12
TAG_KEY_FILE = "heartbeat_token_tag.key"
MIN_SWEEP_GAP = 0.02
FLUSH_SECONDS = 0.05


def build_engine(settings: HeartbeatSettings) -> LivenessEngine:
    checkpoints = (
        PostgresViewStore(settings, "heartbeat_checkpoint")
        if settings.event_store == "postgres"
        else SQLiteViewStore(settings.service_data_dir() / "heartbeat_checkpoint.sqlite")
    )
    partitions = settings.heartbeat_partitions
    owned = frozenset(settings.owned_heartbeat_partitions())
    tag_key = load_or_create_text_secret(
        settings.service_data_dir() / TAG_KEY_FILE, lambda: secrets.token_hex(32)
    )
    return LivenessEngine(
        HeartbeatStore.from_settings(settings),
        open_view_store(settings, "heartbeat"),
        checkpoints,
        offline_after=settings.offline_after_seconds,
        grace=settings.liveness_grace_seconds,
        tokens=VerifiedTokens(settings.heartbeat_credential_cache_seconds, bytes.fromhex(tag_key)),
        owns=lambda agent_id: partition_of(agent_id, partitions) in owned,
    )


def build_deadlines(settings: HeartbeatSettings) -> Deadlines:
    """The intervals the hub dictates per dialect, and how many of them an agent may miss."""
    return Deadlines(
        {
            DEVICE_DIALECT: settings.heartbeat_interval_of(DEVICE_DIALECT),
            ORCHESTRATOR_DIALECT: settings.heartbeat_interval_of(ORCHESTRATOR_DIALECT),
        },
        settings.heartbeat_interval_seconds,
        settings.heartbeat_missed_beats,
    )


def build(settings: HeartbeatSettings) -> ServiceHost:
    assert settings.nats_url, "NATS_URL is required"
    credential = service_credential(settings)
    host = ServiceHost("heartbeat", settings.nats_url, credential)
    engine = build_engine(settings)
    deadlines = build_deadlines(settings)
    owned = settings.owned_heartbeat_partitions()
    # The relay's own connection: on the beats' connection every JetStream ack queued behind
    # the beats the server had buffered for us, so under load a WentOffline event reached
    # subscribers tens of seconds after its decision (bench: p99 28.8 s from the event's
    # creation to a subscriber while beats came faster than the service took them in).
    events_links: list[Client] = []

    async def start() -> None:
        nc = host.broker.connection
        # A reconnect from here on may have lost registry events (counted by the sweep loop).
        reconnects = nc.stats["reconnects"]
        connected_at = time.time()
        known = await asyncio.to_thread(engine.restore)
        trust = engine.restored_trust
        log.info(
            "restored liveness of %d agents (partitions %s of %d); trusted tokens restored: "
            "%d, expired: %d, cleared by a lost connection: %d, none: %d",
            known,
            owned,
            settings.heartbeat_partitions,
            trust.trusted,
            trust.expired,
            trust.cleared,
            trust.without,
        )
        await ensure_telemetry_stream(nc)
        events_nc = await connect(
            settings.nats_url,
            f"agentplane-heartbeat-events-{host.instance}",
            user=credential.user,
            password=credential.password,
        )
        events_links.append(events_nc)
        relay = OutboxRelay(engine.store, events_nc.jetstream(), engine.views)
        await relay.start()
        # Transitions are published from memory right after their commit (no read-back).
        engine.recorded_hooks.append(relay.offer)
        bus = BusClient(nc, settings.request_timeout)
        intake = BeatIntake(
            engine,
            engine.tokens,
            nc,
            bus,
            partitions=settings.heartbeat_partitions,
            owned=owned,
            instance=host.instance,
            deadlines=deadlines,
        )
        register_handlers(host, intake, bus, bench=settings.heartbeat_bench)
        channel_beats = ChannelBeats(nc, bus, deadlines.of_dialect)

        # Live invalidations first, then the ones we may have missed while down, then beats.
        await follow_registry_events(nc, intake.forget_agent, channel_beats.forget)
        if engine.checkpointed_at is not None:
            await recover_trust(
                nc,
                engine.checkpointed_at,
                intake.forget_agent,
                intake.forget_all,
                "restart",
            )
        await subscribe_beats(nc, intake, host.service)
        await channel_beats.subscribe(host.service)
        # Deadlines count from now, when beats reach us, not from the restore above.
        engine.listening()

        async def sweep() -> None:
            nonlocal reconnects, connected_at
            period = settings.liveness_sweep_seconds
            while True:
                if nc.stats["reconnects"] != reconnects:
                    # Registry events may have been missed while we were away: forget the
                    # agents they concern (replayed from the stream since the link was last
                    # seen up), not the whole fleet's trust (a storm of registry checks).
                    reconnects = nc.stats["reconnects"]
                    host.spawn(
                        recover_trust(
                            nc,
                            connected_at,
                            intake.forget_agent,
                            intake.forget_all,
                            f"NATS reconnect #{reconnects}",
                        )
                    )
                if nc.is_connected:
                    connected_at = engine.clock()
                # The sweep's own CPU time: wall time would count the moments this process
                # waited for a CPU on a busy machine, and stretch the gap between sweeps just
                # when detection is already late.
                started = time.thread_time()
                if engine.sweep():
                    flush_now.set()  # its WentOffline events go out now, not at the next tick
                cost = time.thread_time() - started
                # Wake when the earliest deadline passes (exact detection), but sweep at
                # most ~2 % of the time (a sweep looks at every agent) and at least once a
                # period.
                ahead = engine.table.next_deadline - engine.clock()
                await asyncio.sleep(min(period, max(MIN_SWEEP_GAP, 50 * cost, ahead)))

        loop = asyncio.get_running_loop()
        flush_now = asyncio.Event()

        def flush() -> int:
            saved = engine.flush_transitions()
            if saved:
                # From this worker thread: an asyncio event is set on its own loop only.
                loop.call_soon_threadsafe(relay.wake)
            return saved

        async def flusher() -> None:
            """Save transitions every FLUSH_SECONDS, or at once when a sweep found some."""
            while True:
                try:
                    await asyncio.wait_for(flush_now.wait(), FLUSH_SECONDS)
                except TimeoutError:
                    pass
                flush_now.clear()
                try:
                    await asyncio.to_thread(flush)
                except Exception:
                    log.exception("saving transitions failed; retrying")

        async def checkpoint() -> None:
            passes = 0
            while True:
                await asyncio.sleep(CHECKPOINT_SECONDS)
                passes += 1
                rows = engine.checkpoint_rows(everything=passes % FULL_CHECKPOINT_EVERY == 0)
                try:
                    await asyncio.to_thread(engine.write_checkpoint, rows)
                except Exception:
                    engine.retry_rows(rows)
                    log.exception("checkpoint failed; retrying")

        host.loop(sweep)
        host.loop(flusher)
        host.loop(checkpoint)
        host.loop(relay.run)

    async def stop() -> None:
        await asyncio.to_thread(engine.flush_transitions)
        await asyncio.to_thread(engine.write_checkpoint, engine.checkpoint_rows())
        # What the relay had not published yet is read from the log by the next start.
        for link in events_links:
            await link.close()

    host.on_start(start)
    host.on_stop(stop)
    return host


def main() -> None:
    settings = HeartbeatSettings()
    configure_logging(settings.log_level)
    asyncio.run(build(settings).serve())


if __name__ == "__main__":
    main()
