"""One signed HTTP attempt of a delivery (Standard Webhooks, via the `standardwebhooks` package).

Every attempt is signed afresh: `webhook-timestamp` is the time of the attempt (receivers
refuse old ones), `webhook-id` the delivery id (the same on every retry, so receivers can drop
repeats). The body is the exact bytes signed. Redirects are not followed; the receiver's
answer body is not read beyond what closing the connection needs.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from standardwebhooks.webhooks import Webhook as StandardWebhook

from agentplane.webhooks.targets import GuardedResolver, TargetRefused, refuse_literal

USER_AGENT = "agentplane-webhooks/0.1"
MAX_ERROR = 300


@dataclass(frozen=True)
class Outcome:
    """The receiver's status code, or why there was none."""

    status_code: int | None
    error: str | None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def signed_request(
    secret: str, delivery_id: str, payload: dict[str, Any], now: datetime
) -> tuple[bytes, dict[str, str]]:
    """The body and headers of one attempt."""
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    signature = StandardWebhook(secret).sign(delivery_id, now, body)
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": delivery_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
    }
    return body, headers


class Sender:
    """Posts signed deliveries through one connection pool guarded against private targets."""

    def __init__(self, allow_private: bool, timeout: float) -> None:
        self.allow_private = allow_private
        self.timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                resolver=GuardedResolver(self.allow_private), limit=100, limit_per_host=10
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=aiohttp.ClientTimeout(total=self.timeout),
                trust_env=False,  # no proxies from the environment
            )
        return self._session

    async def send(
        self, url: str, secret: str, delivery_id: str, payload: dict[str, Any]
    ) -> Outcome:
        body, headers = signed_request(secret, delivery_id, payload, datetime.now(UTC))
        try:
            refuse_literal(urlsplit(url).hostname or "", self.allow_private)
            async with self._client().post(
                url, data=body, headers=headers, allow_redirects=False
            ) as response:
                return Outcome(response.status, None)
        except TargetRefused as exc:
            return Outcome(None, f"refused: {exc}"[:MAX_ERROR])
        except TimeoutError:
            return Outcome(None, f"no answer within {self.timeout:g} s")
        except aiohttp.ClientError as exc:
            return Outcome(None, (str(exc) or type(exc).__name__)[:MAX_ERROR])
        except (OSError, ValueError) as exc:
            return Outcome(None, (str(exc) or type(exc).__name__)[:MAX_ERROR])

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            # Lets the connector's transports close before the loop ends.
            await asyncio.sleep(0)
