"""The FastAPI gateway: dialect routers over NATS request/reply; no domain state."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from agentplane.bus.agent_token_cache import AgentTokenCache
from agentplane.bus.connection import connect
from agentplane.bus.requests import BusClient
from agentplane.gateway import route_shapes
from agentplane.gateway.admission import Admission
from agentplane.gateway.auth import WorkspaceKeys
from agentplane.gateway.auth_throttle import AuthFailureThrottle
from agentplane.gateway.body_limit import BodyLimit
from agentplane.gateway.channel_watch import ChannelWatch
from agentplane.gateway.client_certificates import forwarding_secret
from agentplane.gateway.docs import install_offline_docs
from agentplane.gateway.errors import install_error_handlers
from agentplane.gateway.json_depth import JsonDepthLimit
from agentplane.gateway.lean_send import LeanSendRoute
from agentplane.gateway.openapi import install_truthful_openapi
from agentplane.gateway.rate_limits import install_rate_limits
from agentplane.gateway.routers import (
    admin,
    agent_lists,
    agents_v1,
    channel,
    commands,
    device,
    device_operator,
    diagnostics,
    enrollment,
    health,
    messages,
    orchestrator_heartbeat,
    pap,
    pap_export,
    services,
    tasks_agent,
    tasks_device,
    tasks_operator,
    tasks_stream,
    webhooks,
)
from agentplane.gateway.routers import orchestrator as orchestrator_agents
from agentplane.security.admin import admin_token
from agentplane.security.nats_credentials import service_credential
from agentplane.settings import GatewaySettings


def create_app(settings: GatewaySettings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        assert settings.nats_url, "NATS_URL is required"
        credential = service_credential(settings)
        nc = await connect(
            settings.nats_url,
            "agentplane-gateway",
            user=credential.user,
            password=credential.password,
        )
        app.state.nc = nc
        app.state.bus = BusClient(nc, settings.request_timeout)
        app.state.workspace_keys = WorkspaceKeys(app.state.bus)
        await app.state.agent_tokens.follow(nc)
        await app.state.rate_limits.sync.start(nc)
        try:
            yield
        finally:
            await app.state.rate_limits.sync.stop()
            await nc.drain()

    app = FastAPI(
        title="agentplane",
        version="0.1.0",
        description="Control plane for fleets of agents.",
        lifespan=lifespan,
        # Served with local assets by install_offline_docs; ReDoc would need a CDN.
        docs_url=None,
        redoc_url=None,
    )
    app.state.nc = None
    # Seed 000 tokens verified recently: repeat heartbeats are published without a round trip.
    # Short trust: an expired token is answered "success" for at most this long (the heartbeat
    # service, which knows expiry, still drops its beats).
    app.state.agent_tokens = AgentTokenCache(ttl=30.0)
    app.state.admin_token = admin_token(settings)[0]
    # Open agent channel sockets, woken to re-check their credential on registry events.
    app.state.channel_watch = ChannelWatch()
    # Intervals and partitions the routers need (see `gateway.app_settings`).
    app.state.settings = settings
    # Only requests carrying this secret may assert a client certificate (the TLS terminator).
    app.state.tls_forwarding_secret = forwarding_secret(settings)
    install_error_handlers(app)
    install_rate_limits(app, settings)
    install_truthful_openapi(app)
    install_offline_docs(app)
    # Added last, so they are the outermost middleware: bodies are bounded in size and time,
    # then in nesting depth, before anything else reads them.
    app.add_middleware(JsonDepthLimit)
    app.add_middleware(BodyLimit)
    # A request waiting for its turn has not started its body's clock.
    app.add_middleware(Admission)
    # Outermost of all: an address over its failed-authentication limit is refused before its
    # body is read, and without taking one of the in-flight slots others wait for.
    app.add_middleware(AuthFailureThrottle)
    # The busiest write, in front of every router: it takes the common case of the documented
    # send route in fewer steps, and a send no longer pays for matching the health routes first
    # (FastAPI's included routers cost ~10 µs a request to rule out). Anything but a POST is
    # ruled out by its method before its path is looked at.
    app.router.routes.append(LeanSendRoute())
    app.include_router(health.router)
    # Routes are matched in order, router by router (each costs a few microseconds even when
    # nothing in it matches): the busiest agent-to-agent paths come first. No path of one
    # router can match a path of another, so the order changes nothing else.
    app.include_router(messages.router)
    app.include_router(commands.router)
    app.include_router(admin.router)
    app.include_router(agent_lists.router)
    app.include_router(agents_v1.router)
    app.include_router(enrollment.router)
    app.include_router(device.router)
    app.include_router(device_operator.router)
    app.include_router(pap.router)
    app.include_router(pap_export.router)
    app.include_router(orchestrator_agents.router)
    app.include_router(orchestrator_heartbeat.router)
    app.include_router(channel.router)
    app.include_router(services.router)
    app.include_router(diagnostics.router)
    app.include_router(webhooks.router)
    app.include_router(tasks_operator.router)
    app.include_router(tasks_agent.router)
    app.include_router(tasks_stream.router)
    app.include_router(tasks_device.router)
    route_shapes.install(app)  # last: it reads the routers included above
    return app
