"""What every executor is: run a payload, stream log lines, end in an outcome."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from agentplane.contracts.channel import TaskOutcome

# (stream, line) → published as a `TaskLogLine`.
LogSink = Callable[[Literal["stdout", "stderr"], str], Awaitable[None]]


class PayloadError(ValueError):
    """The payload does not say what the executor needs; the task fails with this text."""


@dataclass(frozen=True)
class Execution:
    outcome: TaskOutcome
    result: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


class Executor(Protocol):
    name: str

    async def run(self, payload: dict[str, Any], timeout: float, log: LogSink) -> Execution: ...
