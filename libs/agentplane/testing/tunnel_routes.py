"""Routes for the edge (tests and benchmarks) until the service catalog answers
`Tunnels.ROUTES` itself: a responder on a private system's NATS (in the registry's queue
group) that serves a table the caller writes, and a `service.*` integration event after each
change so the edge reloads at once.

It also listens on agents' inboxes like a second subscriber would, so a test can see the
`tunnel.open` messages (and their one-time tokens) the edge sends.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Coroutine
from datetime import UTC, datetime
from typing import Any, TypeVar
from uuid import UUID

from nats.aio.client import Client
from nats.aio.msg import Msg

from agentplane.contracts.channel import HubMessage
from agentplane.contracts.events import IntegrationEvent
from agentplane.contracts.reply import Reply
from agentplane.contracts.subjects import AgentChannel, Events
from agentplane.contracts.tunnels import (
    TunnelOpenBody,
    TunnelRoute,
    TunnelRoutes,
    TunnelRoutesQuery,
    Tunnels,
)
from agentplane.testing.system import RunningSystem, free_port

T = TypeVar("T")


class RoutesFeed:
    def __init__(self, system: RunningSystem) -> None:
        self.system = system
        self.routes: dict[str, TunnelRoute] = {}
        self.opens: list[TunnelOpenBody] = []
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.nc: Client = self._run(system.nats_connect())
        self._run(self.nc.subscribe(Tunnels.ROUTES, queue="registry", cb=self._answer))
        self._run(self.nc.flush())

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(30)

    async def _answer(self, msg: Msg) -> None:
        query = TunnelRoutesQuery.model_validate_json(msg.data)
        ordered = sorted(self.routes.values(), key=lambda r: r.service_id)
        if query.after is not None:
            ordered = [r for r in ordered if r.service_id > query.after]
        page = ordered[: query.limit]
        after = page[-1].service_id if len(ordered) > len(page) else None
        reply = Reply.success(TunnelRoutes(routes=page, next_after=after))
        await msg.respond(reply.model_dump_json().encode())

    async def _changed(self, service_id: str) -> None:
        event = IntegrationEvent(
            id=f"test:{uuid.uuid4().hex}", app="registry", position=0,
            type="service.Changed", aggregate_id=service_id, aggregate_version=1,
            occurred_at=datetime.now(UTC), data={},
        )  # fmt: skip
        await self.nc.publish(
            Events.subject("registry", event.type), event.model_dump_json().encode()
        )

    def add(
        self,
        agent_id: str,
        target_port: int,
        *,
        public_subdomain: str | None = None,
        is_public: bool = False,
        target_host: str = "127.0.0.1",
    ) -> TunnelRoute:
        route = TunnelRoute(
            service_id=f"svc_{uuid.uuid4().hex[:12]}", workspace_id=uuid.uuid4(),
            agent_id=UUID(agent_id), tunnel_port=free_port(), target_host=target_host,
            target_port=target_port, protocol="tcp", is_public=is_public,
            public_subdomain=public_subdomain,
        )  # fmt: skip
        self.routes[route.service_id] = route
        self._run(self._changed(route.service_id))
        return route

    def remove(self, route: TunnelRoute) -> None:
        self.routes.pop(route.service_id, None)
        self._run(self._changed(route.service_id))

    def watch_inbox(self, agent_id: str) -> None:
        async def on_message(msg: Msg) -> None:
            hub = HubMessage.model_validate_json(msg.data)
            self.opens.append(TunnelOpenBody.model_validate(hub.body))

        self._watch = self._run(self.nc.subscribe(AgentChannel.inbox(agent_id), cb=on_message))
        self._run(self.nc.flush())

    def stop_watching(self) -> None:
        """A silent second subscriber makes the edge wait for acks that never come: go."""
        self._run(self._watch.unsubscribe())

    def close(self) -> None:
        self._run(self.nc.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
