"""The heartbeat loop: beats with jitter at the hub's interval; a gap is reported on the next
beat as seed 003 `reconnect_reason` + `process_start_time`; a rotated key applies at once."""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from agentplane.agent.backoff import Backoff, jittered
from agentplane.agent.metrics import Metrics, boot_time, usage_percent
from agentplane.agent.state import Identity, StateDir
from agentplane.contracts.http.orchestrator import TaskAssignment
from agentplane.contracts.http.timestamps import rfc3339_seconds
from agentplane.sdk import AgentplaneError, AsyncClient, DeviceCredentials

log = logging.getLogger("agentplane.agent")
DEFAULT_INTERVAL = 30.0


def restart_reason(previous_run: dict[str, object]) -> str | None:
    """Why this start follows a gap: None on the first run of an identity."""
    if not previous_run:
        return None
    planned = previous_run.get("next_reason")
    if isinstance(planned, str):
        return planned
    last_beat = previous_run.get("last_beat_at")
    if isinstance(last_beat, int | float) and boot_time() > last_beat:
        return "machine_reboot"
    return "service_restart"


@dataclass
class BeatState:
    """What the agent reports in a beat besides metrics."""

    status: str = "idle"
    current_task: str | None = None
    last_task_completed: str | None = None
    running_tasks: int = 0


def _uuid_or_none(value: str | None) -> str | None:
    try:
        return str(uuid.UUID(value)) if value else None
    except ValueError:
        return None


class Heartbeats:
    def __init__(
        self,
        client: AsyncClient,
        state: StateDir,
        identity: Callable[[], Identity],
        rotate: Callable[[str], Awaitable[None]],
        beat_state: Callable[[], BeatState],
        version: str,
        process_start: datetime,
        pending_reason: str | None,
        on_tasks: Callable[[list[TaskAssignment]], None] | None = None,
    ) -> None:
        self.client = client
        # Seed 002: the tasks a heartbeat answer hands out (leased to this agent).
        self.on_tasks = on_tasks
        self.state = state
        self.identity = identity
        self.rotate = rotate
        self.beat_state = beat_state
        self.version = version
        self.process_start = process_start
        self.pending_reason = pending_reason
        self.interval = DEFAULT_INTERVAL
        self.metrics = Metrics()
        self.rng = random.Random()
        self.backoff = Backoff(base=1.0, cap=DEFAULT_INTERVAL)
        self.beats = 0
        self.failures = 0
        self.wake = asyncio.Event()

    def set_interval(self, seconds: float) -> None:
        if seconds > 0 and seconds != self.interval:
            log.info("heartbeat interval is now %ss", seconds)
            self.interval = seconds
            self.backoff.cap = seconds
            self.wake.set()

    def device_body(self) -> dict[str, object]:
        now = datetime.now(UTC)
        current = self.beat_state()
        body: dict[str, object] = {
            "timestamp": rfc3339_seconds(now),
            "status": current.status if current.status in ("idle", "executing") else "idle",
            "current_task": _uuid_or_none(current.current_task),
            "system": self.metrics.sample(),
            "agent_version": self.version,
            "last_task_completed": _uuid_or_none(current.last_task_completed),
        }
        if self.pending_reason is not None:
            body["reconnect_reason"] = self.pending_reason
            body["process_start_time"] = rfc3339_seconds(min(self.process_start, now))
        return body

    def orchestrator_body(self) -> dict[str, object]:
        """The seed 002 heartbeat: `status`, `resourceUsage` (percent), `runningTasks`."""
        current = self.beat_state()
        return {
            "status": "healthy",
            "resourceUsage": usage_percent(),
            "runningTasks": current.running_tasks,
        }

    async def beat_once(self) -> bool:
        identity = self.identity()
        try:
            if identity.dialect == "device":
                creds = DeviceCredentials(agent_id=identity.agent_id, api_key=identity.credential)
                ack = await self.client.device.heartbeat(creds, self.device_body())
                if ack.new_api_key:
                    await self.rotate(ack.new_api_key)
            elif identity.dialect == "orchestrator":
                answer = await self.client.orchestrator.heartbeat(
                    identity.agent_id, self.orchestrator_body(), token=identity.credential
                )
                if answer.tasks and self.on_tasks is not None:
                    self.on_tasks(answer.tasks)
            else:
                await self.client.agents.heartbeat(identity.agent_id, identity.credential)
        except AgentplaneError as exc:
            self.failures += 1
            # A failed beat is a gap the hub may have noticed: report it when beats resume.
            if self.pending_reason is None:
                self.pending_reason = "network_recovery"
            log.warning("heartbeat failed: %s", type(exc).__name__ + ": " + str(exc)[:200])
            return False
        if self.pending_reason is not None:
            log.info("reported reconnect_reason %s", self.pending_reason)
        self.pending_reason = None
        self.beats += 1
        run = self.state.load_run()
        run.update(last_beat_at=time.time(), next_reason=None)
        self.state.save_run(run)
        return True

    async def run(self) -> None:
        while True:
            ok = await self.beat_once()
            if ok:
                self.backoff.reset()
                delay = jittered(self.interval, self.rng)
            else:
                delay = min(self.interval, max(0.5, self.backoff.next_delay()))
            self.wake.clear()
            try:
                await asyncio.wait_for(self.wake.wait(), timeout=delay)
            except TimeoutError:
                pass
