"""Helpers of the NATS auth tests: agents of each dialect over HTTP, their NATS clients."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import nats
from nats.aio.client import Client
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout

from agentplane.contracts.subjects import AgentChannel


def key_headers(ws: dict[str, Any]) -> dict[str, str]:
    return {"x-api-key": ws["apiKey"], "Content-Type": "application/json"}


def seed000_agent(http: httpx.Client, ws: dict[str, Any]) -> tuple[str, str]:
    """A provisioned seed 000 agent: (agent id, agent token)."""
    response = http.post(
        "/v1/agents/provision", json={"clientType": "cursor"}, headers=key_headers(ws)
    )
    assert response.status_code == 201, response.text
    return response.json()["agentId"], response.json()["token"]


def seed003_agent(http: httpx.Client, ws: dict[str, Any]) -> tuple[str, str]:
    """An enrolled seed 003 device agent: (agent id, API key)."""
    response = http.post(
        "/v1/enrollment-tokens", json={"kind": "enrollment"}, headers=key_headers(ws)
    )
    assert response.status_code == 201, response.text
    body = {
        "token": response.json()["token"],
        "hostname": "nats-device",
        "os": "linux",
        "arch": "amd64",
        "agent_version": "1.0.0",
    }
    response = http.post("/api/agent/enroll", json=body)
    assert response.status_code == 200, response.text
    return response.json()["data"]["agent_id"], response.json()["data"]["api_key"]


def seed002_agent(http: httpx.Client, ws: dict[str, Any]) -> tuple[str, str]:
    """A registered seed 002 orchestrator agent: (agent id, bearer JWT)."""
    response = http.post(
        "/v1/enrollment-tokens", json={"kind": "registration"}, headers=key_headers(ws)
    )
    assert response.status_code == 201, response.text
    body = {"name": f"nats-{uuid.uuid4().hex[:8]}", "version": "1.0.0"}
    response = http.post(
        "/api/v1/agents/register", json=body, headers={"X-Agent-Token": response.json()["token"]}
    )
    assert response.status_code == 201, response.text
    return response.json()["agentId"], response.json()["token"]


def device_headers(agent_id: str, api_key: str) -> dict[str, str]:
    return {
        "X-Agent-Key": api_key,
        "X-Agent-ID": agent_id,
        "X-Request-Timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def device_heartbeat(http: httpx.Client, agent_id: str, api_key: str) -> httpx.Response:
    body = {
        "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "status": "idle",
        "agent_version": "1.0.0",
        "current_task": None,
        "system": {
            "hostname": "nats-device",
            "os": "linux",
            "arch": "amd64",
            "uptime_seconds": 60,
            "cpu_percent": 1,
            "memory_mb": 512,
            "disk_free_mb": 1000,
            "process_cpu_percent": 1,
            "process_memory_mb": 20,
        },
        "last_task_completed": None,
    }
    return http.post("/api/agent/heartbeat", json=body, headers=device_headers(agent_id, api_key))


@dataclass
class AgentClient:
    """An agent's NATS connection, with what its error callback saw and when it closed."""

    nc: Client
    errors: list[str] = field(default_factory=list)
    closed_at: float | None = None
    closed: asyncio.Event = field(default_factory=asyncio.Event)

    async def violations(self, count: int, timeout: float = 3.0) -> list[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [e for e in self.errors if "permissions violation" in e]
            if len(found) >= count:
                return found
            await asyncio.sleep(0.02)
        return [e for e in self.errors if "permissions violation" in e]

    async def wait_closed(self, timeout: float) -> float | None:
        """When the connection closed (monotonic), or None if it is still open."""
        try:
            await asyncio.wait_for(self.closed.wait(), timeout)
        except TimeoutError:
            return None
        return self.closed_at


async def connect_agent(
    url: str, agent_id: str | None, password: str | None, **options: Any
) -> AgentClient:
    """Connect as an agent does: user = its id, its own reply inbox, no reconnects (a test
    must see the connection end, not a reconnect with a revoked credential)."""
    client = AgentClient(nc=Client())

    async def on_error(exc: Exception) -> None:
        client.errors.append(str(exc))

    async def on_closed() -> None:
        client.closed_at = time.monotonic()
        client.closed.set()

    prefix = AgentChannel.reply_inbox_prefix(agent_id or "anonymous")
    await client.nc.connect(
        url,
        user=agent_id,
        password=password,
        inbox_prefix=prefix.encode(),
        allow_reconnect=False,
        max_reconnect_attempts=0,
        connect_timeout=5,
        error_cb=on_error,
        closed_cb=on_closed,
        **options,
    )
    return client


async def refused(url: str, **credentials: Any) -> str:
    """Why a connection attempt was refused; fails the test when it was admitted.

    Admitted means the server answered the client's first PING with PONG. nats-py returns
    from connect() without raising when the first answer is neither PONG nor -ERR (the
    socket closed first); such a client is not connected, and that is a refusal too.
    """
    errors: list[str] = []

    async def on_error(exc: Exception) -> None:
        errors.append(str(exc))

    try:
        nc = await nats.connect(
            url,
            allow_reconnect=False,
            max_reconnect_attempts=0,
            connect_timeout=5,
            error_cb=on_error,
            **credentials,
        )
    except Exception as exc:
        return str(exc)
    admitted = nc.is_connected
    await nc.close()
    if admitted:
        raise AssertionError(f"admitted with {sorted(credentials)}")
    return " ".join([*errors, "closed without PONG"])


async def request_when_ready(nc: Client, subject: str, data: bytes, timeout: float = 5.0) -> bytes:
    """Request, retrying while the responder's subscription is not visible yet (LIBRARIES.md:
    NoResponders right after another connection subscribed)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return (await nc.request(subject, data, timeout=0.5)).data
        except (NoRespondersError, NatsTimeout):
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.05)


async def eventually(
    check: Callable[[], Awaitable[bool]] | Callable[[], bool], timeout: float
) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return True
        await asyncio.sleep(0.02)
    return False
