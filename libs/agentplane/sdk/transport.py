"""Sending calls: credentials, retries, decoding, typed errors; one loop for sync and async.

The loop is written once as a coroutine. The async engine awaits httpx.AsyncClient; the sync
engine's coroutines block on httpx.Client and never suspend, so the sync client can run the
very same coroutine to completion with a single `send(None)` (see `synced`).
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any, Protocol, TypeVar

import httpx

from agentplane.sdk.calls import Auth, Call
from agentplane.sdk.errors import ConnectionFailed, error_from_response
from agentplane.sdk.retry import (
    IDEMPOTENT_METHODS,
    RetryPolicy,
    retry_after_error,
    retry_delay,
)

T = TypeVar("T")
USER_AGENT = "agentplane-sdk/0.1.0"


class Engine(Protocol):
    """Sends one request and sleeps, the sync or the async way."""

    def build_request(self, method: str, url: str, **kwargs: Any) -> httpx.Request: ...
    async def send(self, request: httpx.Request) -> httpx.Response: ...
    async def sleep(self, seconds: float) -> None: ...
    async def close(self) -> None: ...


class AsyncEngine:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.build_request = client.build_request

    async def send(self, request: httpx.Request) -> httpx.Response:
        return await self.client.send(request)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    async def close(self) -> None:
        await self.client.aclose()


class SyncEngine:
    """Blocking on purpose: these coroutines never suspend (the sync client drives them)."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client
        self.build_request = client.build_request

    async def send(self, request: httpx.Request) -> httpx.Response:
        return self.client.send(request)

    async def sleep(self, seconds: float) -> None:
        time.sleep(seconds)  # noqa: ASYNC251 - runs in the sync client, never in an event loop

    async def close(self) -> None:
        self.client.close()


class Transport:
    """The client's credentials and retry policy applied to every call."""

    def __init__(
        self,
        engine: Engine,
        api_key: str | None,
        admin_token: str | None,
        retry: RetryPolicy,
    ) -> None:
        self.engine = engine
        self.api_key = api_key
        self.admin_token = admin_token
        self.retry = retry

    def _headers(self, call: Call[Any]) -> dict[str, str]:
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if call.auth is Auth.API_KEY and self.api_key:
            headers["x-api-key"] = self.api_key
        elif call.auth is Auth.BEARER_API_KEY and self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        elif call.auth is Auth.ADMIN and self.admin_token:
            headers["Authorization"] = f"Bearer {self.admin_token}"
        if call.idempotency_key:
            headers["Idempotency-Key"] = call.idempotency_key
        headers.update(call.headers)
        if call.signer is not None:
            headers.update(call.signer())
        return headers

    def _request(self, call: Call[Any]) -> httpx.Request:
        return self.engine.build_request(
            call.method,
            call.path,
            json=call.json(),
            params=call.query(),
            headers=self._headers(call),
        )

    async def send(self, call: Call[T]) -> T:
        idempotent = (
            call.idempotent or call.method in IDEMPOTENT_METHODS or bool(call.idempotency_key)
        )
        attempt = 0
        while True:
            try:
                response = await self.engine.send(self._request(call))
            except httpx.TransportError as exc:
                wait = retry_after_error(self.retry, attempt, exc, idempotent)
                if wait is None:
                    raise ConnectionFailed(f"{call.method} {call.path}: {exc!r}") from exc
            else:
                if response.is_success:
                    return call.answer(json.loads(response.content) if response.content else None)
                wait = retry_delay(self.retry, attempt, response, idempotent)
                if wait is None:
                    raise error_from_response(response)
            await self.engine.sleep(wait)
            attempt += 1
