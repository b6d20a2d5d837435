"""The system survives kill -9 of a service, outages answer 503, and restarts keep state."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import nats
import pytest

from agentplane.contracts.events import IntegrationEvent
from agentplane.contracts.streams import EVENTS_STREAM
from agentplane.contracts.subjects import Events
from agentplane.testing.plugin import create_workspace
from agentplane.testing.system import RunningSystem


async def _stream_events(running: RunningSystem, app: str) -> list[tuple[str, IntegrationEvent]]:
    """Every message of one app in AP_EVENTS: (Nats-Msg-Id, event)."""
    nc = await running.nats_connect()
    try:
        js = nc.jetstream()
        info = await js.stream_info(EVENTS_STREAM)
        sub = await js.subscribe(Events.of_app(app), stream=EVENTS_STREAM, ordered_consumer=True)
        found: list[tuple[str, IntegrationEvent]] = []
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                msg = await sub.next_msg(timeout=1.0)
            except nats.errors.TimeoutError:
                break
            found.append(
                (
                    (msg.headers or {}).get("Nats-Msg-Id", ""),
                    IntegrationEvent.model_validate_json(msg.data),
                )
            )
            if msg.metadata.sequence.stream >= info.state.last_seq:
                break
        await sub.unsubscribe()
        return found
    finally:
        await nc.close()


async def _register_many(
    base_url: str, api_key: str, count: int, enough: asyncio.Event
) -> list[tuple[str, int]]:
    succeeded = 0
    limits = httpx.Limits(max_connections=count)
    async with httpx.AsyncClient(base_url=base_url, timeout=60.0, limits=limits) as client:

        async def one() -> tuple[str, int]:
            agent_id = str(uuid4())
            try:
                response = await client.post(
                    "/v1/agents/register",
                    headers={"x-api-key": api_key},
                    json={"agentId": agent_id, "token": "t" * 40, "name": f"a-{agent_id[:8]}"},
                )
                if response.status_code == 201:
                    nonlocal succeeded
                    succeeded += 1
                    if succeeded >= 20:
                        enough.set()
                return agent_id, response.status_code
            except httpx.HTTPError:
                return agent_id, 0

        return await asyncio.gather(*(one() for _ in range(count)))


def test_kill_9_of_registry_during_200_registrations_loses_and_duplicates_nothing(
    system_factory: Callable[..., RunningSystem],
) -> None:
    running = system_factory()
    with httpx.Client(base_url=running.base_url, timeout=30) as client:
        ws = create_workspace(client, running.admin_token)

    async def storm() -> list[tuple[str, int]]:
        enough = asyncio.Event()
        task = asyncio.create_task(_register_many(running.base_url, ws["apiKey"], 200, enough))
        # Kill it mid-storm: some registrations answered, most still in flight.
        await asyncio.wait_for(enough.wait(), 60)
        old_pid = running.signal_service("registry", signal.SIGKILL)
        results = await task
        await asyncio.to_thread(running.wait_restarted, "registry", old_pid)
        return results

    results = asyncio.run(storm())
    statuses = Counter(code for _, code in results)
    succeeded = {agent_id for agent_id, code in results if 200 <= code < 300}
    assert succeeded, statuses
    # Failures are clean answers (503 while the registry is down), never 500s.
    assert all(code in (201, 503, 0) for _, code in results), statuses

    with httpx.Client(base_url=running.base_url, timeout=30) as client:
        listed = client.get("/v1/agents", headers={"x-api-key": ws["apiKey"]}).json()
    ids = [a["id"] for a in listed]
    assert len(ids) == len(set(ids)), "an agent is listed twice"
    assert succeeded <= set(ids), f"lost {len(succeeded - set(ids))} acknowledged registrations"

    # The relay published every registry event exactly once, in notification order.
    deadline = time.monotonic() + 10
    while True:
        published = asyncio.run(_stream_events(running, "registry"))
        msg_ids = [msg_id for msg_id, _ in published]
        registered = {e.aggregate_id for _, e in published if e.type == "agent.Registered"}
        if set(ids) <= registered or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert len(msg_ids) == len(set(msg_ids)), "an event was published twice"
    positions = [e.position for _, e in published]
    assert positions == sorted(positions)
    assert positions == list(range(1, len(positions) + 1)), "an event is missing from the stream"
    assert set(ids) <= registered


def test_stop_and_start_keeps_every_agent_and_stops_within_10_s(
    system_factory: Callable[..., RunningSystem], tmp_path: Path
) -> None:
    first = system_factory(data_dir=tmp_path / "data")
    with httpx.Client(base_url=first.base_url, timeout=30) as client:
        ws = create_workspace(client, first.admin_token)
        key = {"x-api-key": ws["apiKey"]}
        provisioned = client.post(
            "/v1/agents/provision", headers=key, json={"clientType": "cursor", "name": "kept"}
        ).json()
        client.post(
            "/v1/agents/heartbeat",
            json={"agentId": provisioned["agentId"], "token": provisioned["token"]},
        ).raise_for_status()
        before = client.get("/v1/agents", headers=key).json()
        # The came_online transition is saved in the next batch (within ~50 ms).
        deadline = time.monotonic() + 10
        while True:
            audit_before = client.get(
                f"/v1/agents/{provisioned['agentId']}/audit-logs", headers=key
            )
            actions = [e["action"] for e in audit_before.json()["logs"]]
            if "came_online" in actions or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert actions == ["came_online", "provisioned"]
    took = first.stop()
    assert took < 10.0, f"shutdown took {took:.1f}s"

    second = RunningSystem(tmp_path / "data").start()
    try:
        with httpx.Client(base_url=second.base_url, timeout=30) as client:
            after = client.get("/v1/agents", headers=key).json()
            assert [a["id"] for a in after] == [a["id"] for a in before]
            assert after[0]["lastSeenAt"] == before[0]["lastSeenAt"]
            # Our own restart is not the agent's outage: it is still online.
            assert after[0]["isOnline"] is True
            audit_after = client.get(f"/v1/agents/{provisioned['agentId']}/audit-logs", headers=key)
            assert audit_after.json() == audit_before.json()
            # The agent's token still works.
            beat = client.post(
                "/v1/agents/heartbeat",
                json={"agentId": provisioned["agentId"], "token": provisioned["token"]},
            )
            assert beat.status_code == 200
    finally:
        second.stop()


def test_a_dead_service_answers_503_naming_it_and_comes_back(
    system: RunningSystem, http: httpx.Client, workspace: dict[str, Any]
) -> None:
    key = {"x-api-key": workspace["apiKey"]}
    old_pid = system.signal_service("lifecycle", signal.SIGSTOP)
    try:
        started = time.monotonic()
        health = http.get("/health")
        assert health.status_code == 503
        assert "lifecycle" in health.json()["missing"]
        agent = http.post("/v1/agents/provision", headers=key, json={"clientType": "custom"}).json()
        audit = http.get(f"/v1/agents/{agent['agentId']}/audit-logs", headers=key)
        assert audit.status_code == 503
        assert "lifecycle" in audit.json()["error"]
        assert time.monotonic() - started < 15, "an outage must not hang callers"
    finally:
        system.signal_service("lifecycle", signal.SIGCONT)
    system.wait_healthy()
    assert system.pid_of("lifecycle") == old_pid


def test_kill_9_of_heartbeat_is_restarted_by_the_launcher(system: RunningSystem) -> None:
    old_pid = system.signal_service("heartbeat", signal.SIGKILL)
    system.wait_restarted("heartbeat", old_pid)
    runtime = system.runtime()
    assert runtime["pids"]["heartbeat"] != old_pid
    assert json.dumps(runtime)  # the runtime file stays readable while restarting


@pytest.mark.parametrize("service", ["registry"])
def test_requests_while_nats_is_down_get_503(
    system_factory: Callable[..., RunningSystem], service: str
) -> None:
    running = system_factory()
    nats_pid = running.runtime()["nats_pid"]
    import os

    os.kill(nats_pid, signal.SIGSTOP)
    try:
        with httpx.Client(base_url=running.base_url, timeout=30) as client:
            started = time.monotonic()
            response = client.get("/v1/agents", headers={"x-api-key": "pc_" + "x" * 49})
            assert response.status_code == 503
            assert time.monotonic() - started < 15
    finally:
        os.kill(nats_pid, signal.SIGCONT)
    running.wait_healthy()
