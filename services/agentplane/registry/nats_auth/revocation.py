"""Revocation ends live NATS connections: the registry closes what a revoked credential opened.

Driven by the registry's own integration events (a durable consumer of `ap.events.registry.
agent.>`, shared by the replicas): when an agent's token is rotated (seed 000, and a seed 003
key rotation once the old key is retired), a credential is revoked, or the agent is deleted
or terminated, every connection of that agent that started before the event is closed. A
connection opened later was admitted by the callout after the change, with a credential
that still works, so it stays: handling an event twice closes nothing more (idempotent).
Expiry needs no event: the user JWT's `exp` makes the server close the connection.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from datetime import datetime, timedelta

from nats.aio.client import Client
from nats.aio.subscription import Subscription
from nats.errors import TimeoutError as NatsTimeout

from agentplane.bus.connection import connect
from agentplane.bus.consumers import durable_subscriber
from agentplane.bus.host import ServiceHost
from agentplane.contracts.events import IntegrationEvent
from agentplane.contracts.events import registry as registry_events
from agentplane.contracts.streams import EVENTS_STREAM
from agentplane.contracts.subjects import AgentChannel, Events
from agentplane.security.nats_credentials import SYSTEM_USER

log = logging.getLogger("agentplane.registry.nats_auth.revocation")

DURABLE = "registry-nats-revocation"
# Events after which no connection opened before them may stay.
ENDING = frozenset(
    model.TYPE
    for model in (
        registry_events.AgentTokenRotated,
        registry_events.AgentCredentialRevoked,
        registry_events.AgentCredentialsRevoked,
        registry_events.AgentDeleted,
        registry_events.AgentTerminated,
    )
)
# Event time (registry clock) against connection start (server clock): allow for skew. A
# connection opened with the new credential inside this margin is closed once, and reconnects.
CLOCK_MARGIN = timedelta(milliseconds=500)
FIRST_REPLY_SECONDS = 2.0
# In a cluster every server answers the CONNZ ping; later answers come within milliseconds.
MORE_REPLIES_SECONDS = 0.25


def _started(connection: dict[str, object]) -> datetime | None:
    try:
        return datetime.fromisoformat(str(connection["start"]))
    except (KeyError, ValueError):
        return None


class ConnectionCloser:
    """Finds an agent's connections on every server (CONNZ) and kicks them (system user)."""

    def __init__(self, system_password: str) -> None:
        self.system_password = system_password
        self.nc: Client | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self, url: str) -> None:
        self.nc = await connect(
            url, "agentplane-registry-revocation", user=SYSTEM_USER, password=self.system_password
        )

    async def stop(self) -> None:
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.nc is not None:
            await self.nc.drain()

    async def close_agent_connections(self, agent_id: str, opened_before: datetime) -> int:
        """Kick every connection of the agent that started before `opened_before`.

        Returns after the first server answered (a single server, or the fastest node);
        the answers of further cluster nodes are handled in the background, so a backlog
        of revocations does not wait out the tail of every one.
        """
        assert self.nc is not None, "start() first"
        inbox = self.nc.new_inbox()
        sub = await self.nc.subscribe(inbox)
        query = {"user": agent_id, "limit": 1024}
        await self.nc.publish(AgentChannel.CONNZ, json.dumps(query).encode(), reply=inbox)
        try:
            reply = await sub.next_msg(timeout=FIRST_REPLY_SECONDS)
        except NatsTimeout:
            await sub.unsubscribe()
            raise TimeoutError(f"no server answered CONNZ for agent {agent_id}") from None
        closed = await self._kick_old(json.loads(reply.data), opened_before)
        task = asyncio.create_task(self._later_replies(sub, opened_before))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return closed

    async def _later_replies(self, sub: Subscription, opened_before: datetime) -> None:
        try:
            while True:
                try:
                    reply = await sub.next_msg(timeout=MORE_REPLIES_SECONDS)
                except NatsTimeout:
                    return
                await self._kick_old(json.loads(reply.data), opened_before)
        finally:
            await sub.unsubscribe()

    async def _kick_old(self, reply: dict[str, object], opened_before: datetime) -> int:
        assert self.nc is not None
        server = reply.get("server") or {}
        data = reply.get("data") or {}
        server_id = server.get("id") if isinstance(server, dict) else None
        connections = data.get("connections") if isinstance(data, dict) else None
        if not server_id or not connections:
            return 0
        closed = 0
        for connection in connections:
            started = _started(connection)
            if started is None or started >= opened_before:
                continue
            cid = connection.get("cid")
            try:
                await self.nc.request(
                    AgentChannel.kick(server_id), json.dumps({"cid": cid}).encode(), timeout=1.0
                )
                closed += 1
            except NatsTimeout:
                log.warning("kick of connection %s on %s got no answer", cid, server_id)
        return closed


def close_on_revocation(host: ServiceHost, closer: ConnectionCloser) -> None:
    """Subscribe the registry's agent events; close connections an ending event revokes."""

    async def on_event(body: bytes, _sequence: int) -> None:
        event = IntegrationEvent.model_validate_json(body)
        if event.type not in ENDING:
            return
        agent_id = event.agent_id or event.aggregate_id
        started = time.monotonic()
        closed = await closer.close_agent_connections(
            agent_id, opened_before=event.occurred_at + CLOCK_MARGIN
        )
        if closed:
            log.info(
                "closed %d NATS connection(s) of agent %s after %s (%.0f ms)",
                closed, agent_id, event.type, (time.monotonic() - started) * 1000,
            )  # fmt: skip

    durable_subscriber(
        host,
        stream=EVENTS_STREAM,
        # Only these are sent (filtered by the server): registrations and the like, most of
        # the traffic, never reach this consumer.
        subject=sorted(Events.subject("registry", t) for t in ENDING),
        durable=DURABLE,
        handler=on_event,
    )
