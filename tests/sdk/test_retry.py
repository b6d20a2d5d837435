"""Retries against a real local HTTP server: what is repeated, how often, and how patiently."""

from __future__ import annotations

import time
from collections.abc import Iterator
from uuid import uuid4

import pytest
from tests.sdk.scripted_server import Answer, ScriptedServer, scripted

from agentplane.contracts.http.device import AgentUpdate
from agentplane.sdk import (
    AsyncClient,
    Client,
    ConnectionFailed,
    RateLimited,
    RetryPolicy,
    Unavailable,
)
from agentplane.sdk.calls import Auth, Call, optional_data
from agentplane.sdk.transport import USER_AGENT

FAST = RetryPolicy(max_retries=3, backoff_base=0.01, backoff_max=0.05)
AGENT = str(uuid4())
SUMMARY = {
    "id": AGENT,
    "name": "web-server-1",
    "label": "production",
    "isOnline": True,
    "lastSeenAt": "2026-03-02T10:00:00.000Z",
    "createdAt": "2026-03-01T10:00:00.000Z",
}
WORKSPACE = {"workspaceId": "ws_1", "workspaceName": "w", "tier": "free", "apiKey": "k"}
ROTATED = {"success": True, "newToken": "t" * 40, "expiresAt": "2026-03-03T10:00:00.000Z"}


@pytest.fixture(scope="module")
def server() -> Iterator[ScriptedServer]:
    yield from scripted()


async def test_get_is_repeated_after_503_until_it_succeeds(server: ScriptedServer) -> None:
    server.answer(
        Answer(503, {"error": "busy", "kind": "unavailable"}), Answer(503), Answer(200, [SUMMARY])
    )
    async with AsyncClient(server.base_url, api_key="k", retry=FAST) as client:
        agents = await client.agents.list()
    assert [a.name for a in agents] == ["web-server-1"]
    assert len(server.received) == 3
    assert all(r.headers["x-api-key"] == "k" for r in server.received)
    assert server.received[0].headers["user-agent"] == USER_AGENT


def test_sync_client_repeats_the_same_way(server: ScriptedServer) -> None:
    server.answer(Answer(502), Answer(504), Answer(200, [SUMMARY]))
    with Client(server.base_url, api_key="k", retry=FAST) as client:
        agents = client.agents.list()
    assert agents[0].is_online is True
    assert len(server.received) == 3


async def test_429_waits_as_long_as_retry_after_says(server: ScriptedServer) -> None:
    server.answer(
        Answer(429, {"error": "Too Many Requests", "kind": "rate_limited"}, {"Retry-After": "1"}),
        Answer(200, [SUMMARY]),
    )
    started = time.monotonic()
    async with AsyncClient(server.base_url, api_key="k", retry=FAST) as client:
        await client.agents.list()
    # FAST backs off at most 0.05 s: only Retry-After explains a whole second.
    assert time.monotonic() - started >= 0.95
    assert len(server.received) == 2


async def test_429_asking_too_long_a_wait_is_raised_with_retry_after(
    server: ScriptedServer,
) -> None:
    server.answer(
        Answer(429, {"error": "Too Many Requests", "kind": "rate_limited"}, {"Retry-After": "3600"})
    )
    async with AsyncClient(server.base_url, api_key="k", retry=FAST) as client:
        with pytest.raises(RateLimited) as caught:
            await client.agents.list()
    assert caught.value.retry_after == 3600
    assert caught.value.status == 429 and caught.value.kind == "rate_limited"
    assert len(server.received) == 1


async def test_non_idempotent_post_is_not_repeated_after_503(server: ScriptedServer) -> None:
    server.answer(Answer(503, {"error": "busy", "kind": "unavailable"}), Answer(200, ROTATED))
    async with AsyncClient(server.base_url, retry=FAST) as client:
        with pytest.raises(Unavailable) as caught:
            await client.agents.rotate_token(AGENT, "old-token")
    assert caught.value.status == 503 and caught.value.message == "busy"
    assert len(server.received) == 1


async def test_post_with_idempotency_key_is_repeated_with_the_same_key(
    server: ScriptedServer,
) -> None:
    server.answer(Answer(503), Answer(201, WORKSPACE))
    async with AsyncClient(server.base_url, admin_token="adm", retry=FAST) as client:
        created = await client.workspaces.create("w", idempotency_key="key-1")
    assert created.api_key == "k"
    assert [r.headers.get("idempotency-key") for r in server.received] == ["key-1", "key-1"]
    assert server.received[0].headers["authorization"] == "Bearer adm"
    assert server.received[0].body == {"name": "w", "tier": "free"}


async def test_non_idempotent_post_is_repeated_after_429(server: ScriptedServer) -> None:
    # A 429 is refused before any work: repeating cannot do anything twice.
    server.answer(Answer(429, headers={"Retry-After": "0"}), Answer(200, ROTATED))
    async with AsyncClient(server.base_url, retry=FAST) as client:
        rotated = await client.agents.rotate_token(AGENT, "old-token")
    assert rotated.new_token == "t" * 40
    assert len(server.received) == 2


async def test_dropped_connection_repeats_a_get_but_not_a_post(server: ScriptedServer) -> None:
    server.answer(Answer(drop=True), Answer(200, [SUMMARY]))
    async with AsyncClient(server.base_url, api_key="k", retry=FAST) as client:
        assert len(await client.agents.list()) == 1
        assert len(server.received) == 2
        server.answer(Answer(drop=True), Answer(200, ROTATED))
        with pytest.raises(ConnectionFailed):
            await client.agents.rotate_token(AGENT, "old-token")
    assert len(server.received) == 1


async def test_retries_are_bounded(server: ScriptedServer) -> None:
    server.answer(Answer(503, {"error": "down", "kind": "unavailable"}))
    async with AsyncClient(server.base_url, api_key="k", retry=FAST) as client:
        with pytest.raises(Unavailable):
            await client.agents.list()
    assert len(server.received) == 1 + FAST.max_retries


def test_unreachable_gateway_raises_connection_failed() -> None:
    with ScriptedServer() as stopped:
        url = stopped.base_url
    with Client(url, retry=FAST) as client, pytest.raises(ConnectionFailed):
        # Never sent, so even a non-idempotent call was tried again (and failed again).
        client.agents.rotate_token(AGENT, "old-token")


async def test_each_attempt_is_signed_afresh(server: ScriptedServer) -> None:
    """A retried device call carries a new X-Request-Timestamp: headers are made per attempt."""
    server.answer(Answer(503), Answer(503), Answer(200, {"success": True, "data": None}))
    signed: list[int] = []

    def signer() -> dict[str, str]:
        signed.append(len(signed))
        return {"X-Request-Timestamp": f"attempt-{len(signed)}"}

    async with AsyncClient(server.base_url, retry=FAST) as client:
        call = Call(
            "GET", "/api/agent/update", optional_data(AgentUpdate), auth=Auth.NONE, signer=signer
        )
        assert await client._transport.send(call) is None
    stamps = [r.headers["x-request-timestamp"] for r in server.received]
    assert stamps == ["attempt-1", "attempt-2", "attempt-3"]
