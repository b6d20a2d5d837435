"""AgentTokenCache follows the registry's agent events on a real NATS server."""

from __future__ import annotations

import asyncio

import nats

from agentplane.bus.agent_token_cache import AgentTokenCache
from agentplane.contracts.subjects import Events
from agentplane.testing.nats import NatsServer


async def test_registry_agent_events_invalidate(nats_server: NatsServer) -> None:
    nc = await nats.connect(nats_server.url)
    try:
        cache = AgentTokenCache(ttl=60)
        await cache.follow(nc)
        cache.remember("agent-1", "tok", cache.generation)
        cache.remember("agent-2", "tok", cache.generation)
        # Workspace events do not concern agents; agent events of another agent neither.
        await nc.publish(Events.subject("registry", "workspace.Created"), b'{"agent_id": null}')
        await nc.publish(
            Events.subject("registry", "agent.TokenRotated"),
            b'{"agent_id": "agent-1", "aggregate_id": "agent-1"}',
        )
        await nc.flush()
        for _ in range(100):
            if not cache.trusted("agent-1", "tok"):
                break
            await asyncio.sleep(0.01)
        assert not cache.trusted("agent-1", "tok")
        assert cache.trusted("agent-2", "tok")
    finally:
        await nc.close()


async def test_a_registration_reaches_no_follower(nats_server: NatsServer) -> None:
    """A registration changes no credential: a storm of them is not delivered to the cache."""
    nc = await nats.connect(nats_server.url)
    try:
        cache = AgentTokenCache(ttl=60)
        await cache.follow(nc)
        cache.remember("agent-1", "tok", cache.generation)
        cache.remember("agent-2", "tok", cache.generation)
        registered = b'{"agent_id": "agent-1", "aggregate_id": "agent-1"}'
        await nc.publish(Events.subject("registry", "agent.Registered"), registered)
        # Published after it on the same connection: delivered after it, had it been followed.
        await nc.publish(
            Events.subject("registry", "agent.Deleted"),
            b'{"agent_id": "agent-2", "aggregate_id": "agent-2"}',
        )
        await nc.flush()
        for _ in range(100):
            if not cache.trusted("agent-2", "tok"):
                break
            await asyncio.sleep(0.01)
        assert not cache.trusted("agent-2", "tok")
        assert cache.trusted("agent-1", "tok")
    finally:
        await nc.close()
