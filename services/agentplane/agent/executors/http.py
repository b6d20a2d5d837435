"""`http` tasks: one request (method, url, headers, body) → status, timing and a body sample."""

from __future__ import annotations

import time
from typing import Any

import httpx

from agentplane.agent.executors.base import Execution, LogSink, PayloadError
from agentplane.contracts.channel import TaskOutcome

METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
MAX_BODY_SAMPLE = 4096


def _request(payload: dict[str, Any]) -> tuple[str, str, dict[str, str], bytes | None]:
    method = str(payload.get("method", "GET")).upper()
    url = payload.get("url")
    if method not in METHODS:
        raise PayloadError(f"http task method must be one of {sorted(METHODS)}")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise PayloadError("http task needs `url`: an http:// or https:// URL")
    headers = payload.get("headers") or {}
    if not isinstance(headers, dict):
        raise PayloadError("http task `headers` must be an object")
    body = payload.get("body")
    content = body.encode() if isinstance(body, str) else None
    return method, url, {str(k): str(v) for k, v in headers.items()}, content


class HttpExecutor:
    name = "http"

    async def run(self, payload: dict[str, Any], timeout: float, log: LogSink) -> Execution:
        method, url, headers, content = _request(payload)
        started = time.monotonic()
        try:
            async with httpx.AsyncClient(timeout=timeout, follow_redirects=False) as client:
                response = await client.request(method, url, headers=headers, content=content)
        except httpx.TimeoutException:
            return Execution(TaskOutcome.TIMED_OUT, error=f"no answer within {timeout}s")
        except httpx.HTTPError as exc:
            return Execution(TaskOutcome.FAILED, error=f"{type(exc).__name__}: {exc}"[:4000])
        elapsed_ms = round((time.monotonic() - started) * 1000, 1)
        await log("stdout", f"{method} {url} -> {response.status_code} in {elapsed_ms} ms")
        result = {
            "status": response.status_code,
            "elapsed_ms": elapsed_ms,
            "headers": dict(response.headers),
            "body": response.text[:MAX_BODY_SAMPLE],
        }
        # The request completed: the status is the result, whatever it is.
        return Execution(TaskOutcome.SUCCEEDED, result)
