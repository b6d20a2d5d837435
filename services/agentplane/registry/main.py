"""Composition root of the registry service."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta

import uvloop

from agentplane.bus.host import ServiceHost, configure_logging
from agentplane.bus.requests import BusClient
from agentplane.eventstore.relay import OutboxRelay
from agentplane.eventstore.views import ViewStore, open_view_store
from agentplane.registry.application import Registry, RegistryStore
from agentplane.registry.dispatch import Dispatch
from agentplane.registry.handlers import register_handlers
from agentplane.registry.idempotency import shred_expired_keys
from agentplane.registry.nats_auth.admission import NatsAdmission
from agentplane.registry.nats_auth.responder import CalloutResponder
from agentplane.registry.nats_auth.revocation import ConnectionCloser, close_on_revocation
from agentplane.registry.use_cases import build_use_cases
from agentplane.security import server_key
from agentplane.security.nats_credentials import (
    CalloutSecrets,
    callout_secrets,
    service_credential,
)
from agentplane.security.shred_keys import ShredKeys
from agentplane.settings import RegistrySettings


@dataclass
class RegistryService:
    """Everything the registry process runs."""

    host: ServiceHost
    registry: Registry
    relay: OutboxRelay | None = None


def build_registry(settings: RegistrySettings, views: ViewStore | None = None) -> Registry:
    """The registry's use cases over its event store and views (no NATS needed)."""
    store = RegistryStore.from_settings(settings)
    return Registry(
        store,
        views or open_view_store(settings, "registry"),
        server_key(settings.service_data_dir()),
        agent_token_ttl=timedelta(seconds=settings.agent_token_ttl_seconds),
        agent_domain=settings.agent_domain,
        shred_keys=ShredKeys(settings.service_data_dir() / "idempotency-keys"),
    )


async def start_nats_agent_access(
    host: ServiceHost,
    admission: NatsAdmission,
    dispatch: Dispatch,
    secrets: CalloutSecrets,
    nats_url: str,
) -> None:
    """Answer the auth callout and close connections whose credential was revoked."""
    responder = CalloutResponder(admission, dispatch, secrets)
    closer = ConnectionCloser(secrets.system_password)
    await closer.start(nats_url)
    close_on_revocation(host, closer)
    await responder.start(nats_url)
    host.on_stop(responder.stop)
    host.on_stop(closer.stop)


def build(settings: RegistrySettings) -> RegistryService:
    assert settings.nats_url, "NATS_URL is required"
    host = ServiceHost("registry", settings.nats_url, service_credential(settings))
    registry = build_registry(settings)
    service = RegistryService(host=host, registry=registry)
    use_cases = build_use_cases(settings, registry)

    # Agents on NATS: the auth callout, and revocations that close live connections.
    callout = callout_secrets(settings)
    nats_url = settings.nats_url

    async def start_relay() -> None:
        # A view built by an older projection version is replayed before anything answers.
        await asyncio.to_thread(registry.projector.migrate)
        # A page's reply must fit one NATS message (half: records re-encode at their size).
        registry.reply_budget = host.broker.connection.max_payload // 2
        js = host.broker.connection.jetstream()
        service.relay = OutboxRelay(registry.store, js, registry.views)
        await service.relay.start()
        registry.recorded_hooks.append(service.relay.offer)
        dispatch = Dispatch(service.relay, registry)
        bus = BusClient(host.broker.connection, settings.request_timeout)
        register_handlers(host, use_cases, dispatch, bus)
        if callout is not None:
            await start_nats_agent_access(host, use_cases.admission, dispatch, callout, nats_url)
        # Events saved by another replica reach this replica's view within a poll period.
        host.loop(service.relay.run)
        host.loop(registry.projector.run)
        if registry.answers is not None:
            answers = registry.answers
            host.loop(lambda: shred_expired_keys(answers, registry.clock))

    host.on_start(start_relay)
    return service


def main() -> None:
    settings = RegistrySettings()
    configure_logging(settings.log_level)
    # uvloop: the loop's own work per message (callbacks, timers, socket I/O) runs in C.
    uvloop.run(build(settings).host.serve())


if __name__ == "__main__":
    main()
