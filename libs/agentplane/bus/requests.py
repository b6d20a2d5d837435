"""Request/reply over NATS with typed replies: errors arrive as ServiceError, never as a hang."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import orjson
from nats.aio.client import Client
from nats.errors import ConnectionClosedError, NoRespondersError
from nats.errors import TimeoutError as NatsTimeout
from pydantic import BaseModel

from agentplane.bus import deadlines
from agentplane.contracts.errors import ErrorBody, ErrorKind, ServiceError


class BusClient:
    """Sends contract requests and returns the data of ok replies."""

    def __init__(self, nc: Client, timeout: float) -> None:
        self.nc = nc
        self.timeout = timeout

    async def request(
        self, subject: str, payload: BaseModel | bytes, timeout: float | None = None
    ) -> dict[str, Any]:
        """Send a request (a contract model, or its JSON already encoded); raise ServiceError
        for an error reply or an unreachable service."""
        service = subject.split(".")[1] if subject.count(".") >= 2 else subject
        budget = timeout or self.timeout
        deadline = time.monotonic() + budget
        # The service starts the work only before this; what starts is answered in the grace
        # left until `deadline` (bus.deadlines): a timeout here rarely hides a saved change.
        headers = deadlines.header(deadlines.start_deadline(budget))
        data = payload if isinstance(payload, bytes) else payload.model_dump_json().encode()
        delay = 0.05
        while True:
            try:
                msg = await self.nc.request(
                    subject,
                    data,
                    timeout=max(0.05, deadline - time.monotonic()),
                    headers=headers,
                )
                break
            except NoRespondersError:
                # Nobody received it, so a retry cannot duplicate anything; a restarting
                # service is usually back within the budget.
                if time.monotonic() + delay >= deadline:
                    raise ServiceError(
                        ErrorKind.UNAVAILABLE, f"{service} service is unavailable", service=service
                    ) from None
                await asyncio.sleep(delay)
                delay = min(delay * 2, 0.5)
                continue
            except NatsTimeout:
                # Started but not answered within the grace: it may have been saved; a
                # retry with the same Idempotency-Key returns the original answer.
                raise ServiceError(
                    ErrorKind.UNAVAILABLE,
                    f"{service} service did not answer in time",
                    service=service,
                ) from None
            except ConnectionClosedError:
                raise ServiceError(ErrorKind.UNAVAILABLE, "message bus is unavailable") from None
        if self.nc.is_closed or not msg.data:
            raise ServiceError(ErrorKind.UNAVAILABLE, f"{service} service sent no answer")
        # The `Reply` envelope, decoded once: the caller validates `data` with its own model
        # (a typed envelope would walk a big page twice); orjson: pages of big lists.
        try:
            reply = orjson.loads(msg.data)
            ok = reply["ok"] is True
        except (ValueError, TypeError, KeyError):
            raise ServiceError(
                ErrorKind.INTERNAL, f"{service} service sent a malformed reply"
            ) from None
        if not ok:
            error = ErrorBody.model_validate(reply.get("error"))
            raise ServiceError(error.kind, error.message, **error.details)
        data = reply.get("data")
        return data if isinstance(data, dict) else {}
