"""Routes for the edge (tests and benchmarks) until the service catalog answers
`Tunnels.ROUTES` itself: a responder on a private system's NATS (in the registry's queue
group) that serves a table the caller writes, and a `service.*` integration event after each
change so the edge reloads at once.

Once the gateway has the catalog (`POST /v1/services/register` in /openapi.json) the feed
registers real services instead (the registry then answers `Tunnels.ROUTES`; a second
responder would make the edge's table flap), with the workspace key it was given.

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

import httpx
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


def has_catalog(system: RunningSystem) -> bool:
    paths = httpx.get(f"{system.base_url}/openapi.json", timeout=30).json()["paths"]
    return "/v1/services/register" in paths


class RoutesFeed:
    def __init__(self, system: RunningSystem, api_key: str) -> None:
        self.system = system
        self.api_key = api_key
        self.catalog = has_catalog(system)
        self.routes: dict[str, TunnelRoute] = {}
        self.opens: list[TunnelOpenBody] = []
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.nc: Client = self._run(system.nats_connect())
        if not self.catalog:
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
        await self._event("registry", "service.Changed", service_id)

    async def _event(
        self, app: str, topic: str, aggregate_id: str, agent_id: str | None = None
    ) -> None:
        event = IntegrationEvent(
            id=f"test:{uuid.uuid4().hex}", app=app, position=0, type=topic,
            aggregate_id=aggregate_id, aggregate_version=1, occurred_at=datetime.now(UTC),
            agent_id=agent_id, data={},
        )  # fmt: skip
        await self.nc.publish(Events.subject(app, topic), event.model_dump_json().encode())

    def went_offline(self, agent_id: str) -> None:
        """What the heartbeat service publishes when an agent's beats stop."""
        self._run(self._event("heartbeat", "liveness.WentOffline", agent_id, agent_id))

    def add(
        self,
        agent_id: str,
        target_port: int,
        *,
        public_subdomain: str | None = None,
        is_public: bool = False,
        target_host: str = "127.0.0.1",
    ) -> TunnelRoute:
        if self.catalog:
            return self._register(agent_id, target_port, public_subdomain, is_public, target_host)
        route = TunnelRoute(
            service_id=f"svc_{uuid.uuid4().hex[:12]}", workspace_id=f"ws_{uuid.uuid4().hex[:12]}",
            agent_id=UUID(agent_id), tunnel_port=free_port(), target_host=target_host,
            target_port=target_port, protocol="tcp", is_public=is_public,
            public_subdomain=public_subdomain,
        )  # fmt: skip
        self.routes[route.service_id] = route
        self._run(self._changed(route.service_id))
        return route

    def remove(self, route: TunnelRoute) -> None:
        if self.catalog:
            deleted = self._http("DELETE", f"/v1/services/{route.service_id}")
            assert deleted.status_code == 200, deleted.text
            return
        self.routes.pop(route.service_id, None)
        self._run(self._changed(route.service_id))

    def _http(self, method: str, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        return httpx.request(
            method, f"{self.system.base_url}{path}", json=body, timeout=30,
            headers={"x-api-key": self.api_key},
        )  # fmt: skip

    def _register(
        self, agent_id: str, port: int, subdomain: str | None, is_public: bool, host: str
    ) -> TunnelRoute:
        body = {"agentId": agent_id, "name": f"t-{uuid.uuid4().hex[:12]}", "targetHost": host,
                "targetPort": port, "protocol": "tcp", "isPublic": is_public}  # fmt: skip
        response = self._http("POST", "/v1/services/register", body)
        assert response.status_code in (200, 201), response.text
        service = response.json()["service"]
        if subdomain and is_public:
            path = f"/v1/services/{service['id']}/subdomain"
            named = self._http("PATCH", path, {"subdomain": subdomain.removeprefix("pc-")})
            assert named.status_code == 200, named.text
        return TunnelRoute(
            service_id=service["id"], workspace_id="", agent_id=UUID(agent_id),
            tunnel_port=service["tunnelPort"], target_host=host, target_port=port,
            protocol="tcp", is_public=is_public,
            public_subdomain=subdomain if is_public else None,
        )  # fmt: skip

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
