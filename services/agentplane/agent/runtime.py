"""One running agent: heartbeats, the channel, commands and tasks, and a prompt shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel

from agentplane.agent.backoff import Backoff
from agentplane.agent.channel import Channel
from agentplane.agent.commands import Commands
from agentplane.agent.credentials import agent_credentials
from agentplane.agent.heartbeat import BeatState, Heartbeats, restart_reason
from agentplane.agent.hub import HubDispatch
from agentplane.agent.inbox import MessageInbox
from agentplane.agent.orchestrator_tasks import SOURCES, OrchestratorTasks
from agentplane.agent.state import Identity, StateDir
from agentplane.agent.tasks import TaskRunner, default_registry
from agentplane.agent.tunnels import TunnelDialer
from agentplane.contracts.channel import AgentHello, ChannelWelcome
from agentplane.contracts.http.orchestrator import TaskAssignment
from agentplane.sdk import AgentplaneError, AsyncClient

log = logging.getLogger("agentplane.agent")


# Ctrl-C must end the agent within 2 s: each shutdown step gets a share of that.
SHUTDOWN_STEP = 0.4
DISCOVERY_FIRST_SECONDS = 5.0


class Agent:
    def __init__(
        self,
        state: StateDir,
        identity: Identity,
        version: str,
        name: str | None = None,
        capabilities: list[str] | None = None,
        nats_urls: list[str] | None = None,
        task_sources: list[str] | None = None,
        allow: list[str] | None = None,
    ) -> None:
        self.state = state
        self.identity = identity
        self.version = version
        self.name = name
        self.capabilities = capabilities or []
        self.nats_urls = list(nats_urls or [])
        self.fixed_urls = bool(self.nats_urls)
        self.started = time.monotonic()
        self.process_start = datetime.now(UTC).replace(microsecond=0)
        self.finished = asyncio.Event()
        self.action = "signal"
        self.client = AsyncClient(identity.server_url, timeout=10.0)
        self.handled = state.handled()
        self.tasks = TaskRunner(default_registry(), self._publish)
        # Seed 002 agents also get tasks by heartbeat, poll and task stream (over HTTP).
        self.orchestrator_tasks = (
            OrchestratorTasks(self.client, lambda: self.identity, task_sources or SOURCES)
            if identity.dialect == "orchestrator"
            else None
        )
        self.tunnels = TunnelDialer(allow)
        dispatch = HubDispatch(
            self.handled, Commands(self.status, self.tunnels.allows), self.tasks, self._publish,
            self._set_interval, self._after_command, MessageInbox(state.path).append,
            self.tunnels,
        )  # fmt: skip
        self.channel = Channel(
            identity.agent_id,
            lambda: self.nats_urls,
            lambda: self.identity.credential,
            dispatch,
            self._hello,
            self._welcome,
            self._discover,
        )
        previous = state.load_run()
        if previous.get("agent_id") != identity.agent_id:
            previous = {}
        self.heartbeats = Heartbeats(
            self.client, state, lambda: self.identity, self._rotate, self._beat_state,
            version, self.process_start, restart_reason(previous), self._heartbeat_tasks,
        )  # fmt: skip
        state.save_run(
            {
                "agent_id": identity.agent_id,
                "pid": os.getpid(),
                "process_start_time": self.process_start.isoformat(),
                "last_beat_at": previous.get("last_beat_at"),
                "next_reason": None,
            }
        )

    # -- what the agent reports ----------------------------------------------------------

    def status(self) -> dict[str, Any]:
        return {
            "agent_id": self.identity.agent_id,
            "name": self.name,
            "version": self.version,
            "pid": os.getpid(),
            "uptime_seconds": round(time.monotonic() - self.started, 1),
            "heartbeat_interval_seconds": self.heartbeats.interval,
            "running_tasks": [t for r in self._runners() for t in r.describe()],
            "draining": self.tasks.draining,
            "capabilities": self.capabilities,
            "channel": self.channel.describe(),
            "tunnels": self.tunnels.describe(),
            "metrics": self.heartbeats.metrics.sample(),
        }

    def _runners(self) -> list[TaskRunner]:
        extra = [self.orchestrator_tasks.runner] if self.orchestrator_tasks else []
        return [self.tasks, *extra]

    def _beat_state(self) -> BeatState:
        running = [t for r in self._runners() for t in r.describe()]
        completed = [r.last_completed for r in self._runners() if r.last_completed]
        return BeatState(
            status="executing" if running else "idle",
            current_task=running[0] if running else None,
            last_task_completed=completed[-1] if completed else None,
            running_tasks=len(running),
        )

    def _heartbeat_tasks(self, tasks: list[TaskAssignment]) -> None:
        if self.orchestrator_tasks is not None:
            self.orchestrator_tasks.offer(tasks, "heartbeat")

    def _hello(self) -> AgentHello:
        return AgentHello(
            agent_version=self.version,
            process_start_time=self.process_start,
            seen=self.handled.recent(1000),
            capabilities=self.capabilities[:100],
        )

    # -- what the hub tells it -----------------------------------------------------------

    def _welcome(self, welcome: ChannelWelcome) -> None:
        self._set_interval(welcome.heartbeat_interval_seconds)

    def _set_interval(self, seconds: float) -> None:
        self.heartbeats.set_interval(seconds)

    async def _publish(self, kind: str, model: BaseModel) -> None:
        await self.channel.publish(kind, model)

    async def _rotate(self, new_key: str) -> None:
        # Persist first: if the agent dies right after, the next start must use the new key.
        self.identity = self.identity.with_credential(new_key)
        self.state.save_identity(self.identity)
        log.info("api key rotated by the hub; the channel reconnects with it")
        await self.channel.reconnect()

    async def _after_command(self, action: str) -> None:
        await self.channel.flush()
        self.finish(action)

    def finish(self, action: str) -> None:
        if not self.finished.is_set():
            self.action = action
            self.finished.set()

    # -- running -------------------------------------------------------------------------

    async def _discover(self) -> None:
        """NATS URLs and the beat interval from `GET /v1/agent-channel`."""
        creds = agent_credentials(self.identity)
        try:
            info = await self.client.channel.info(creds)
        except AgentplaneError as exc:
            log.info("channel discovery unavailable: %s", type(exc).__name__)
            return
        # An operator's --nats-url wins (e.g. a NATS reached through a tunnel).
        if info.nats_urls and not self.fixed_urls:
            self.nats_urls = list(info.nats_urls)
        if info.heartbeat_interval_seconds:
            self._set_interval(info.heartbeat_interval_seconds)

    async def _channel(self) -> None:
        backoff = Backoff(base=1.0, cap=60.0)
        while True:
            await self._discover()
            if self.nats_urls:
                break
            await asyncio.sleep(backoff.next_delay())
        await self.channel.run()

    async def run(self) -> str:
        """Run until stopped; the action that ended it: `signal`, `stop` or `restart`."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.finish, "signal")
        log.info("agent %s (%s) running, version %s", self.identity.agent_id,
                 self.identity.dialect, self.version)  # fmt: skip
        # The hub's interval before the first beat: beats never start at a default pace
        # and then jump (bounded, so an unreachable hub does not delay the first beat).
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._discover(), DISCOVERY_FIRST_SECONDS)
        workers = [
            asyncio.create_task(self.heartbeats.run(), name="heartbeats"),
            asyncio.create_task(self._channel(), name="channel"),
        ]
        if self.orchestrator_tasks is not None:
            sources = self.orchestrator_tasks.sources
            if "poll" in sources:
                workers.append(asyncio.create_task(self.orchestrator_tasks.poll_forever()))
            if "stream" in sources:
                workers.append(asyncio.create_task(self.orchestrator_tasks.stream_forever()))
        try:
            await self.finished.wait()
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)
            await self._shutdown(workers)
        return self.action

    async def _shutdown(self, workers: list[asyncio.Task[None]]) -> None:
        log.info("agent stopping (%s)", self.action)
        for worker in workers:
            worker.cancel()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(
                asyncio.gather(*(r.cancel_all() for r in self._runners())), SHUTDOWN_STEP
            )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*workers, return_exceptions=True), SHUTDOWN_STEP)
        # Leaving ends every tunnel stream at once (the edge closes their visitors).
        self.tunnels.close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.channel.close(), SHUTDOWN_STEP)
        if self.orchestrator_tasks is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.orchestrator_tasks.close(), SHUTDOWN_STEP)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.client.aclose(), SHUTDOWN_STEP)
        run = self.state.load_run()
        run["next_reason"] = "service_restart" if self.action == "restart" else None
        self.state.save_run(run)
