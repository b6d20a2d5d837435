"""A real HTTP webhook receiver on 127.0.0.1 for tests, and the publisher of transitions.

The receiver records every request (headers and raw body), answers a configurable status, and
can be stopped and started again on the same port (a receiver that is down refuses
connections, like a crashed process).
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from uuid import UUID

from standardwebhooks.webhooks import Webhook as StandardWebhook
from standardwebhooks.webhooks import WebhookVerificationError

from agentplane.contracts.events import IntegrationEvent
from agentplane.contracts.events.lifecycle import AgentTransitioned
from agentplane.contracts.lifecycle_events import AGENT_TRANSITIONED, TriggeredBy
from agentplane.contracts.subjects import Events
from agentplane.testing.system import RunningSystem


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes

    def verified(self, secret: str) -> dict[str, Any]:
        """The payload, after checking the Standard Webhooks signature (raises otherwise)."""
        payload: dict[str, Any] = StandardWebhook(secret).verify(self.body, self.headers)
        return payload


class _Server(ThreadingHTTPServer):
    request_queue_size = 256  # many deliveries may connect at once


class Receiver:
    """Records POSTs; answers `status` (or what `answer()` returns when set)."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.status = 200
        self.answer: Callable[[], int] | None = None
        self.port = 0
        self._lock = threading.Lock()
        self._server: _Server | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(length)
                with receiver._lock:
                    receiver.received.append(
                        Received({k.lower(): v for k, v in self.headers.items()}, body)
                    )
                    status = receiver.answer() if receiver.answer else receiver.status
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = _Server(("127.0.0.1", self.port), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def payloads(self, secret: str) -> list[dict[str, Any]]:
        with self._lock:
            return [r.verified(secret) for r in self.received]

    def unique(self, secret: str) -> dict[str, dict[str, Any]]:
        """Payloads signed with `secret`, by `webhook-id` (at-least-once: repeats collapse);
        requests of other webhooks (other secrets) are left out."""
        with self._lock:
            items = list(self.received)
        found = {}
        for r in items:
            try:
                found[r.headers["webhook-id"]] = r.verified(secret)
            except WebhookVerificationError:
                continue
        return found


def transition(
    workspace_id: str,
    agent_id: UUID,
    from_state: str | None,
    to_state: str,
    event_type: str,
    name: str = "my-agent",
) -> AgentTransitioned:
    return AgentTransitioned(
        transition_id=uuid.uuid4().hex,
        agent_id=agent_id,
        workspace_id=workspace_id,
        agent_name=name,
        from_state=from_state,
        to_state=to_state,
        event_type=event_type,
        triggered_by=TriggeredBy.SYSTEM,
        reason="test",
        at=datetime.now(UTC),
    )


async def _publish(system: RunningSystem, transitions: list[AgentTransitioned]) -> None:
    nc = await system.nats_connect()
    try:
        js = nc.jetstream()
        for t in transitions:
            # Published the way the lifecycle service's relay publishes it. The envelope names
            # no agent, so the audit log (which the replay check rebuilds from the services'
            # own stores) does not take in events that no store holds.
            event = IntegrationEvent(
                id=f"test:{uuid.uuid4().hex}",
                app="lifecycle",
                position=0,
                type=AGENT_TRANSITIONED,
                aggregate_id=str(t.agent_id),
                aggregate_version=1,
                occurred_at=t.at,
                workspace_id=t.workspace_id,
                data=t.model_dump(mode="json"),
            )
            await js.publish(
                Events.subject("lifecycle", AGENT_TRANSITIONED),
                event.model_dump_json().encode(),
                headers={"Nats-Msg-Id": event.id},
            )
    finally:
        await nc.close()


def publish(system: RunningSystem, *transitions: AgentTransitioned) -> None:
    """Put real AgentTransitioned integration events into the AP_EVENTS stream."""
    asyncio.run(_publish(system, list(transitions)))


def eventually(probe: Callable[[], Any], timeout: float = 60.0, every: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(every)
