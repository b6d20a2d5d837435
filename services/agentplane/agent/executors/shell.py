"""`shell` tasks: run an argv list (no shell), stream its output lines, report the exit code."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from typing import Any, Literal

from agentplane.agent.executors.base import Execution, LogSink, PayloadError
from agentplane.contracts.channel import TaskOutcome

MAX_LINE = 8192
# How long a task gets between SIGTERM and SIGKILL.
TERMINATE_GRACE = 2.0


def _argv(payload: dict[str, Any]) -> list[str]:
    argv = payload.get("argv")
    if not isinstance(argv, list) or not argv or not all(isinstance(a, str) for a in argv):
        raise PayloadError("shell task needs `argv`: a non-empty list of strings")
    return argv


async def _pump(
    stream: asyncio.StreamReader, name: Literal["stdout", "stderr"], log: LogSink
) -> int:
    lines = 0
    while True:
        raw = await stream.readline()
        if not raw:
            return lines
        lines += 1
        await log(name, raw.decode(errors="replace").rstrip("\r\n")[:MAX_LINE])


async def _terminate(proc: asyncio.subprocess.Process) -> None:
    # The task runs in its own process group so its children end with it.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        await asyncio.wait_for(proc.wait(), TERMINATE_GRACE)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        await proc.wait()


class ShellExecutor:
    name = "shell"

    async def run(self, payload: dict[str, Any], timeout: float, log: LogSink) -> Execution:
        argv = _argv(payload)
        cwd = payload.get("cwd")
        started = time.monotonic()
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                cwd=cwd if isinstance(cwd, str) else None,
                start_new_session=True,
            )
        except OSError as exc:
            return Execution(TaskOutcome.FAILED, error=f"cannot start {argv[0]!r}: {exc}")
        assert proc.stdout is not None and proc.stderr is not None
        pumps = asyncio.gather(_pump(proc.stdout, "stdout", log), _pump(proc.stderr, "stderr", log))
        try:
            await asyncio.wait_for(asyncio.shield(proc.wait()), timeout)
        except TimeoutError:
            await _terminate(proc)
            await pumps
            return Execution(
                TaskOutcome.TIMED_OUT,
                {"exit_code": proc.returncode, "duration_seconds": time.monotonic() - started},
                f"timed out after {timeout}s",
            )
        except asyncio.CancelledError:
            await _terminate(proc)
            pumps.cancel()
            raise
        out_lines, err_lines = await pumps
        code = proc.returncode
        result = {
            "exit_code": code,
            "duration_seconds": round(time.monotonic() - started, 3),
            "stdout_lines": out_lines,
            "stderr_lines": err_lines,
        }
        if code == 0:
            return Execution(TaskOutcome.SUCCEEDED, result)
        return Execution(TaskOutcome.FAILED, result, f"exit code {code}")
