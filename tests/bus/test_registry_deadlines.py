"""The caller's deadline on a real NATS server and the registry's real dispatch and store:
a command still queued when its deadline passes is answered `deadline_exceeded` and never
committed; a command that started before it commits and is answered."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from pydantic import BaseModel

from agentplane.bus import deadlines
from agentplane.bus.connection import connect
from agentplane.bus.host import ServiceHost
from agentplane.bus.requests import BusClient
from agentplane.bus.routes import command, serve_routes
from agentplane.contracts.agents import AgentRecord, RegisterAgent
from agentplane.contracts.errors import ErrorKind, ServiceError
from agentplane.contracts.workspaces import CreateWorkspace
from agentplane.eventstore.application import store_env
from agentplane.eventstore.relay import OutboxRelay
from agentplane.eventstore.views import SQLiteViewStore
from agentplane.registry.application import Registry, RegistryStore
from agentplane.registry.dispatch import Dispatch, batched
from agentplane.registry.domain import Agent
from agentplane.registry.enrollment import Enrollment
from agentplane.registry.workspaces import Workspaces
from agentplane.settings import Settings
from agentplane.testing.nats import NatsServer

SLOW = "test.deadlines.slow"
REGISTER = "test.deadlines.register"
CACHED = {
    k: v
    for k, v in store_env(Settings(data_dir=Path(".")), RegistryStore.name).items()
    if k.startswith(("AGGREGATE_", "DEEPCOPY_"))
}


class IsolatedStore(RegistryStore):
    # Its own app name on the shared test NATS server: no other test's registry events.
    name = f"registry-deadlines-{uuid4().hex[:8]}"


@dataclass
class Service:
    registry: Registry
    workspace_id: str
    gate: threading.Event  # the slow commands wait for it
    started: threading.Semaphore  # released as each slow command starts
    bus: BusClient


@pytest.fixture
async def service(nats_server: NatsServer, tmp_path: Path) -> AsyncIterator[Service]:
    views = SQLiteViewStore(tmp_path / "views.sqlite")
    registry = Registry(IsolatedStore(CACHED, allow_memory=True), views, b"k" * 32)
    workspace_id = Workspaces(registry).create_workspace(CreateWorkspace(name="w"))[0].workspace_id
    enrollment = Enrollment(registry)
    gate, started = threading.Event(), threading.Semaphore(0)

    def slow_register(cmd: RegisterAgent) -> tuple[BaseModel, int]:
        started.release()
        gate.wait(30)
        return enrollment.register_agent(cmd)

    host = ServiceHost("deadlines-test", nats_server.url)
    nc = await connect(nats_server.url, "deadlines-test-relay")
    relay = OutboxRelay(registry.store, nc.jetstream(), views)
    await relay.start()
    registry.recorded_hooks.append(relay.offer)
    relay_task = asyncio.create_task(relay.run())
    dispatch = Dispatch(relay, registry)
    serve_routes(
        host,
        [
            command(SLOW, RegisterAgent, batched(slow_register)),
            command(REGISTER, RegisterAgent, batched(enrollment.register_agent)),
        ],
        dispatch,
    )
    await host.start()
    client = await connect(nats_server.url, "deadlines-test-client")
    try:
        yield Service(registry, workspace_id, gate, started, BusClient(client, timeout=5))
    finally:
        gate.set()
        await host.stop()
        relay_task.cancel()
        await asyncio.gather(relay_task, return_exceptions=True)
        await client.close()
        await nc.close()
        dispatch.threads.shutdown()
        dispatch.batch_threads.shutdown()
        views.close()


def registration(workspace_id: str) -> RegisterAgent:
    return RegisterAgent(
        workspace_id=workspace_id, agent_id=uuid4(), token="agent_tok_" + uuid4().hex * 2
    )


async def wait_started(service: Service, count: int) -> None:
    for _ in range(count):
        assert await asyncio.to_thread(service.started.acquire, True, 30), "never started"


def stored(service: Service, agent_id: UUID) -> Agent | None:
    found: Agent | None = service.registry.load(agent_id)
    return found


async def test_a_command_queued_past_its_deadline_is_not_committed(service: Service) -> None:
    budget = 4.0
    # Two slow commands fill both batch threads; each started before its deadline.
    slow = [registration(service.workspace_id) for _ in range(2)]
    slow_answers = []
    for cmd in slow:  # one batch each
        slow_answers.append(asyncio.create_task(service.bus.request(SLOW, cmd, timeout=budget)))
        await wait_started(service, 1)
    queued = registration(service.workspace_id)
    sent_at = time.time()
    queued_answer = asyncio.create_task(service.bus.request(REGISTER, queued, timeout=budget))
    # The slow ones go on only once the queued command's start deadline has passed.
    start_by = deadlines.start_deadline(budget, now=sent_at)
    await asyncio.sleep(max(0.0, start_by - time.time()) + 0.1)
    service.gate.set()

    with pytest.raises(ServiceError) as refused:
        await queued_answer
    assert refused.value.kind is ErrorKind.DEADLINE_EXCEEDED
    assert stored(service, queued.agent_id) is None, "a command the caller gave up on was saved"

    # Started before their deadline: committed and answered, though they ended after it.
    for cmd, answer in zip(slow, slow_answers, strict=True):
        record: dict[str, Any] = await answer
        assert AgentRecord.model_validate(record).id == cmd.agent_id
        assert stored(service, cmd.agent_id) is not None


async def test_batched_registrations_commit_together_and_conflicts_stay_per_command(
    service: Service,
) -> None:
    service.gate.set()
    taken = registration(service.workspace_id)
    await service.bus.request(REGISTER, taken)
    batches_before = service.registry.committer.groups
    fresh = [registration(service.workspace_id) for _ in range(40)]
    again = taken.model_copy(update={"token": "agent_tok_" + uuid4().hex * 2})
    answers = await asyncio.gather(
        *(service.bus.request(REGISTER, cmd) for cmd in [*fresh[:20], again, *fresh[20:]]),
        return_exceptions=True,
    )
    conflict = answers.pop(20)
    assert isinstance(conflict, ServiceError) and conflict.kind is ErrorKind.CONFLICT
    registered = [AgentRecord.model_validate(a).id for a in answers]
    assert registered == [cmd.agent_id for cmd in fresh]
    for cmd in fresh:
        assert stored(service, cmd.agent_id) is not None
    # Read-your-writes: each answered registration is in the view at once.
    with service.registry.views.read() as tx:
        assert all(tx.get("agent", str(cmd.agent_id)) is not None for cmd in fresh)
    assert service.registry.committer.groups - batches_before < 41, "no batch was shared"
