"""`AsyncClient` and its sync twin `Client`: one object per gateway, resources as attributes."""

from __future__ import annotations

from types import TracebackType
from typing import Any, Self

import httpx

from agentplane.sdk.agents import Agents, AsyncAgents
from agentplane.sdk.channel import AsyncChannel, Channel
from agentplane.sdk.commands import AsyncCommands, Commands
from agentplane.sdk.device import AsyncDevice, Device
from agentplane.sdk.health import AsyncHealth, Health
from agentplane.sdk.messages import AsyncMessages, Messages
from agentplane.sdk.orchestrator import AsyncOrchestrator, Orchestrator
from agentplane.sdk.pap import AsyncPap, Pap
from agentplane.sdk.releases import AsyncReleases, Releases
from agentplane.sdk.retry import RetryPolicy
from agentplane.sdk.services import AsyncServices, Services
from agentplane.sdk.synced import drive
from agentplane.sdk.tasks import AsyncTasks, Tasks
from agentplane.sdk.tls import Cert, Verify, ssl_context
from agentplane.sdk.transport import AsyncEngine, Engine, SyncEngine, Transport
from agentplane.sdk.webhooks import AsyncWebhooks, Webhooks
from agentplane.sdk.workspaces import (
    AsyncEnrollmentTokens,
    AsyncWorkspaces,
    EnrollmentTokens,
    Workspaces,
)


def _transport(
    engine: Engine, api_key: str | None, admin_token: str | None, retry: RetryPolicy | None
) -> Transport:
    return Transport(engine, api_key, admin_token, retry or RetryPolicy())


class AsyncClient:
    """Typed async client of the agentplane gateway.

    `api_key` is the workspace key (seed 000/001/002 `x-api-key`, seed 004 bearer);
    `admin_token` authorizes operator calls; agents pass their own credentials per call.
    `verify` trusts (system CAs, a CA file, or an SSLContext such as `tls.agent_ssl_context`),
    `cert` presents a client certificate (seed 002 mTLS). `http_client` replaces the httpx
    client the SDK would build (its own base URL, timeout and TLS settings then apply).
    """

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        admin_token: str | None = None,
        timeout: float = 10.0,
        *,
        retry: RetryPolicy | None = None,
        verify: Verify = True,
        cert: Cert = None,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        client = http_client or httpx.AsyncClient(
            base_url=base_url, timeout=timeout, verify=ssl_context(verify, cert)
        )
        t = _transport(AsyncEngine(client), api_key, admin_token, retry)
        self._transport = t
        self.device = AsyncDevice(t)
        self.agents = AsyncAgents(t)
        self.commands = AsyncCommands(t)
        self.workspaces = AsyncWorkspaces(t)
        self.enrollment_tokens = AsyncEnrollmentTokens(t)
        self.channel = AsyncChannel(t)
        self.releases = AsyncReleases(t)
        self.orchestrator = AsyncOrchestrator(t)
        self.tasks = AsyncTasks(t)
        self.pap = AsyncPap(t)
        self.services = AsyncServices(t)
        self.messages = AsyncMessages(t)
        self.webhooks = AsyncWebhooks(t)
        self.health = AsyncHealth(t)

    async def aclose(self) -> None:
        await self._transport.engine.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()


class Client:
    """Typed sync client of the agentplane gateway; the same resources as `AsyncClient`."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        admin_token: str | None = None,
        timeout: float = 10.0,
        *,
        retry: RetryPolicy | None = None,
        verify: Verify = True,
        cert: Cert = None,
        http_client: httpx.Client | None = None,
    ) -> None:
        client = http_client or httpx.Client(
            base_url=base_url, timeout=timeout, verify=ssl_context(verify, cert)
        )
        t = _transport(SyncEngine(client), api_key, admin_token, retry)
        self._transport = t
        self.device = Device(t)
        self.agents = Agents(t)
        self.commands = Commands(t)
        self.workspaces = Workspaces(t)
        self.enrollment_tokens = EnrollmentTokens(t)
        self.channel = Channel(t)
        self.releases = Releases(t)
        self.orchestrator = Orchestrator(t)
        self.tasks = Tasks(t)
        self.pap = Pap(t)
        self.services = Services(t)
        self.messages = Messages(t)
        self.webhooks = Webhooks(t)
        self.health = Health(t)

    def close(self) -> None:
        drive(self._transport.engine.close())

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
