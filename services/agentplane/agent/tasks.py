"""Tasks offered by the hub: the executor registry and the runner that publishes a task's
progress, log lines and result on the agent's channel."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel

from agentplane.agent.executors.base import Execution, Executor, PayloadError
from agentplane.agent.executors.http import HttpExecutor
from agentplane.agent.executors.shell import ShellExecutor
from agentplane.contracts.channel import (
    TaskLogLine,
    TaskOfferBody,
    TaskOutcome,
    TaskProgress,
    TaskResult,
)
from agentplane.contracts.subjects import AgentChannel

log = logging.getLogger("agentplane.agent")
Publish = Callable[[str, BaseModel], Awaitable[None]]
DEFAULT_TIMEOUT = 300.0


class ExecutorRegistry:
    def __init__(self, executors: Iterable[Executor]) -> None:
        self._executors = {e.name: e for e in executors}

    def get(self, task_type: str) -> Executor | None:
        return self._executors.get(task_type)

    def names(self) -> list[str]:
        return sorted(self._executors)


def default_registry() -> ExecutorRegistry:
    return ExecutorRegistry([ShellExecutor(), HttpExecutor()])


class TaskRunner:
    def __init__(self, registry: ExecutorRegistry, publish: Publish) -> None:
        self.registry = registry
        self.publish = publish
        self.running: dict[str, asyncio.Task[TaskResult]] = {}
        self.draining = False
        self.last_completed: str | None = None

    def describe(self) -> list[str]:
        return sorted(self.running)

    async def run(self, offer: TaskOfferBody) -> TaskResult:
        """Run an offered task to its end and publish its result (a repeat of a running task
        joins it: the first one reports)."""
        existing = self.running.get(offer.task_id)
        if existing is not None:
            return await asyncio.shield(existing)
        task = asyncio.create_task(self._run(offer))
        self.running[offer.task_id] = task
        task.add_done_callback(lambda _: self.running.pop(offer.task_id, None))
        return await asyncio.shield(task)

    def cancel(self, task_id: str) -> bool:
        task = self.running.get(task_id)
        if task is None or task.done():
            return False
        task.cancel()
        return True

    async def cancel_all(self) -> None:
        tasks = list(self.running.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _execute(self, offer: TaskOfferBody) -> Execution:
        if self.draining:
            return Execution(TaskOutcome.FAILED, error="agent is draining: no new tasks")
        executor = self.registry.get(offer.task_type)
        if executor is None:
            known = ", ".join(self.registry.names())
            return Execution(
                TaskOutcome.FAILED,
                error=f"unknown task type {offer.task_type!r}; this agent runs: {known}",
            )
        seq = 0

        async def line(stream: Literal["stdout", "stderr"], text: str) -> None:
            nonlocal seq
            entry = TaskLogLine(
                task_id=offer.task_id, seq=seq, stream=stream, line=text, at=datetime.now(UTC)
            )
            seq += 1
            await self.publish(AgentChannel.TASK_LOG, entry)

        await self._progress(offer.task_id, "running")
        try:
            return await executor.run(offer.payload, offer.timeout_seconds or DEFAULT_TIMEOUT, line)
        except PayloadError as exc:
            return Execution(TaskOutcome.FAILED, error=str(exc))

    async def _progress(self, task_id: str, state: Literal["accepted", "running"]) -> None:
        progress = TaskProgress(task_id=task_id, state=state, at=datetime.now(UTC))
        await self.publish(AgentChannel.TASK_PROGRESS, progress)

    async def _run(self, offer: TaskOfferBody) -> TaskResult:
        await self._progress(offer.task_id, "accepted")
        try:
            execution = await self._execute(offer)
        except asyncio.CancelledError:
            # A cancelled task still ends in a result: the hub must hear how it ended.
            execution = Execution(TaskOutcome.CANCELLED, error="cancelled")
        except Exception as exc:  # an executor bug must still end the task, visibly
            log.exception("task %s failed", offer.task_id)
            execution = Execution(TaskOutcome.FAILED, error=f"agent error: {type(exc).__name__}")
        result = TaskResult(
            task_id=offer.task_id,
            outcome=execution.outcome,
            result=execution.result,
            error=execution.error,
            finished_at=datetime.now(UTC),
        )
        self.last_completed = offer.task_id
        await self.publish(AgentChannel.TASK_RESULT, result)
        return result
