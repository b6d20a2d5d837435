"""Seed 002 tasks as the reference agent receives them: in heartbeat answers, by polling
`GET /api/v1/agents/{id}/tasks`, and over `WS /api/v1/agents/{id}/task-stream`.

Every task the hub hands out is leased to this agent, so whatever arrives is run (once: a
task id seen before is not started again while it runs). While a task runs, its progress and
output lines go over the task stream when it is connected; lines that could not go that way
travel with the completion (`POST …/tasks/{taskId}/complete`), which is retried until the hub
acknowledges it. Credentials are never logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ValidationError
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException

from agentplane.agent.backoff import Backoff
from agentplane.agent.state import Identity
from agentplane.agent.tasks import TaskRunner, default_registry
from agentplane.contracts.channel import (
    TaskLogLine,
    TaskOfferBody,
    TaskOutcome,
    TaskProgress,
    TaskResult,
)
from agentplane.contracts.http.orchestrator import TaskAssignment
from agentplane.sdk import AgentplaneError, AsyncClient
from agentplane.sdk.errors import ApiError, ServerError

log = logging.getLogger("agentplane.agent")

SOURCES = ("heartbeat", "poll", "stream")
DEFAULT_POLL_SECONDS = 5.0
COMPLETE_ATTEMPTS = 8
MAX_REPORTED_LINES = 1000


def stream_url(server_url: str, agent_id: str) -> str:
    base = server_url.rstrip("/")
    scheme, _, rest = base.partition("://")
    ws_scheme = "wss" if scheme == "https" else "ws"
    return f"{ws_scheme}://{rest}/api/v1/agents/{agent_id}/task-stream"


class OrchestratorTasks:
    def __init__(
        self,
        client: AsyncClient,
        identity: Callable[[], Identity],
        sources: Iterable[str] = SOURCES,
        poll_seconds: float = DEFAULT_POLL_SECONDS,
    ) -> None:
        self.client = client
        self.identity = identity
        self.sources = set(sources)
        self.poll_seconds = poll_seconds
        self.runner = TaskRunner(default_registry(), self._publish)
        self.ws: ClientConnection | None = None
        self.stream_connects = 0
        # Output lines the stream did not carry, reported with the completion.
        self._unsent: dict[str, list[dict[str, Any]]] = {}
        self._jobs: set[asyncio.Task[None]] = set()
        self.received: dict[str, str] = {}  # task id → the path it came by (the first)

    # -- intake ----------------------------------------------------------------------------

    def offer(self, tasks: Iterable[TaskAssignment], via: str) -> None:
        for task in tasks:
            if task.task_id in self.runner.running:
                continue
            self.received.setdefault(task.task_id, via)
            log.info("task %s (%s) received via %s", task.task_id, task.task_type, via)
            offer = TaskOfferBody(
                task_id=task.task_id,
                task_type=task.task_type,
                payload=task.payload,
                timeout_seconds=float(task.timeout) if task.timeout else None,
            )
            job = asyncio.create_task(self._run(offer))
            self._jobs.add(job)
            job.add_done_callback(self._jobs.discard)

    async def _run(self, offer: TaskOfferBody) -> None:
        try:
            await self.runner.run(offer)
        except Exception:
            log.exception("task %s could not be run", offer.task_id)

    async def poll_forever(self) -> None:
        backoff = Backoff(base=1.0, cap=60.0)
        while True:
            identity = self.identity()
            try:
                pending = await self.client.orchestrator.pending_tasks(
                    identity.agent_id, token=identity.credential
                )
            except AgentplaneError as exc:
                log.warning("task poll failed: %s", type(exc).__name__)
                await asyncio.sleep(backoff.next_delay())
                continue
            backoff.reset()
            self.offer(pending.tasks, "poll")
            await asyncio.sleep(self.poll_seconds)

    async def stream_forever(self) -> None:
        backoff = Backoff(base=1.0, cap=60.0)
        while True:
            identity = self.identity()
            headers = {"Authorization": f"Bearer {identity.credential}"}
            url = stream_url(identity.server_url, identity.agent_id)
            try:
                async with connect(url, additional_headers=headers) as ws:
                    self.ws = ws
                    self.stream_connects += 1
                    log.info("task stream connected (%d)", self.stream_connects)
                    backoff.reset()
                    async for raw in ws:
                        self._on_frame(raw)
            except ConnectionClosed as exc:
                code = exc.rcvd.code if exc.rcvd else None
                log.info("task stream closed (%s)", code)
            except (OSError, InvalidStatus, WebSocketException) as exc:
                log.info("task stream unavailable: %s", type(exc).__name__)
            finally:
                self.ws = None
            await asyncio.sleep(backoff.next_delay())

    def _on_frame(self, raw: str | bytes) -> None:
        try:
            frame = json.loads(raw)
        except ValueError:
            return
        kind = frame.get("type") if isinstance(frame, dict) else None
        if kind == "task_assigned":
            try:
                task = TaskAssignment.model_validate(frame.get("task"))
            except ValidationError:
                log.warning("task stream sent an invalid task")
                return
            self.offer([task], "stream")
        elif kind == "task_cancelled":
            task_id = str(frame.get("taskId"))
            if self.runner.cancel(task_id):
                log.info("task %s cancelled by the hub", task_id)
        elif kind == "error":
            log.info("task stream: %s", str(frame.get("message"))[:200])

    # -- reports ---------------------------------------------------------------------------

    async def _send(self, frame: dict[str, Any]) -> bool:
        ws = self.ws
        if ws is None:
            return False
        try:
            await ws.send(json.dumps(frame))
        except (ConnectionClosed, OSError):
            return False
        return True

    async def _publish(self, kind: str, model: BaseModel) -> None:
        if isinstance(model, TaskProgress):
            frame: dict[str, Any] = {"type": "task_progress", "taskId": model.task_id,
                                     "message": model.state}  # fmt: skip
            if model.percent is not None:
                frame["progress"] = model.percent
            await self._send(frame)
        elif isinstance(model, TaskLogLine):
            level = "error" if model.stream == "stderr" else "info"
            sent = await self._send({"type": "task_log", "taskId": model.task_id,
                                     "level": level, "message": model.line})  # fmt: skip
            if not sent:
                lines = self._unsent.setdefault(model.task_id, [])
                if len(lines) < MAX_REPORTED_LINES:
                    lines.append({"timestamp": model.at.isoformat(), "level": level,
                                  "message": model.line})  # fmt: skip
        elif isinstance(model, TaskResult):
            await self._complete(model)
        else:
            log.debug("nothing to report for %s", kind)

    async def _complete(self, result: TaskResult) -> None:
        succeeded = result.outcome is TaskOutcome.SUCCEEDED
        body = {**result.result, "outcome": result.outcome.value}
        if result.error:
            body["error"] = result.error
        logs = self._unsent.pop(result.task_id, [])
        backoff = Backoff(base=0.5, cap=15.0)
        for _ in range(COMPLETE_ATTEMPTS):
            identity = self.identity()
            try:
                await self.client.orchestrator.complete_task(
                    identity.agent_id, result.task_id, succeeded, body, logs,
                    token=identity.credential,
                )  # fmt: skip
            except ServerError as exc:
                log.warning("completion of %s not acknowledged: %s", result.task_id, exc.status)
            except ApiError as exc:
                # 4xx: the hub will never take it (the task is gone): nothing to retry.
                log.warning("completion of %s refused: %s", result.task_id, exc.status)
                return
            except AgentplaneError as exc:
                log.warning("completion of %s not sent: %s", result.task_id, type(exc).__name__)
            else:
                log.info("task %s completed (%s), acknowledged", result.task_id,
                         result.outcome.value)  # fmt: skip
                return
            await asyncio.sleep(backoff.next_delay())
        log.error("task %s: completion never acknowledged", result.task_id)

    async def close(self) -> None:
        for job in list(self._jobs):
            job.cancel()
        await asyncio.gather(*self._jobs, return_exceptions=True)
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await self.ws.close()

    def describe(self) -> dict[str, Any]:
        return {
            "sources": sorted(self.sources),
            "stream_connected": self.ws is not None,
            "received": dict(self.received),
            "at": datetime.now(UTC).isoformat(),
        }
