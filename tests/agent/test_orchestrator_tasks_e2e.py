"""`agentplane agent run` as a seed 002 orchestrator agent against a real system: a task
reaches it through its heartbeat answer, through polling and through the task stream (one
path at a time), runs, and its completion is acknowledged and visible to the operator.

The system dictates a one-hour heartbeat interval, so an agent beats once when it starts and
then not again during a test: a task created after that first beat can only arrive by the
path under test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.agent.process import AgentProcess
from tests.e2e.tasks_helpers import create_task, credentials, key_headers, task_state, wait_for

from agentplane.agent.state import Identity, StateDir
from agentplane.testing.plugin import create_workspace
from agentplane.testing.system import RunningSystem

pytestmark = pytest.mark.system

SHELL = {"argv": ["sh", "-c", "echo pulling; echo pulled; echo warn >&2"]}


@pytest.fixture(scope="module")
def hourly(system_factory: Callable[..., RunningSystem]) -> RunningSystem:
    return system_factory({"AGENTPLANE_ORCHESTRATOR_HEARTBEAT_INTERVAL_SECONDS": "3600"})


@pytest.fixture
def http(hourly: RunningSystem) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=hourly.base_url, timeout=30.0) as client:
        yield client


@pytest.fixture
def workspace(http: httpx.Client, hourly: RunningSystem) -> dict[str, Any]:
    return create_workspace(http, hourly.admin_token)


@pytest.fixture
def agent(tmp_path: Path) -> Iterator[AgentProcess]:
    process = AgentProcess(tmp_path / "state", tmp_path / "agent.log")
    yield process
    process.kill()


def registered(
    http: httpx.Client, ws: dict[str, Any], system: RunningSystem, agent: AgentProcess
) -> str:
    """A seed 002 agent registered over HTTP, its identity in the agent's state dir."""
    token = http.post("/v1/enrollment-tokens", json={"kind": "registration"},
                      headers=key_headers(ws)).json()["token"]  # fmt: skip
    body = {"name": f"e2e-{agent.state_dir.parent.name[-20:]}", "version": "1.0.0"}
    answer = http.post("/api/v1/agents/register", json=body, headers={"X-Agent-Token": token})
    assert answer.status_code == 201, answer.text
    registration = answer.json()
    StateDir(agent.state_dir).save_identity(
        Identity("orchestrator", registration["agentId"], registration["token"], system.base_url)
    )
    return str(registration["agentId"])


def first_beat_done(agent: AgentProcess) -> bool:
    run = agent.state_dir / "run.json"
    return (
        run.exists()
        and "last_beat_at" in run.read_text()
        and '"last_beat_at": null' not in (run.read_text())
    )


def finished(http: httpx.Client, ws: dict[str, Any], agent_id: str, task_id: str) -> Any:
    state = task_state(http, ws, agent_id, task_id)
    return state if state["status"] in ("succeeded", "failed", "timed_out") else None


def assert_ran_and_acknowledged(
    http: httpx.Client, ws: dict[str, Any], agent: AgentProcess, agent_id: str,
    task_id: str, via: str,
) -> dict[str, Any]:  # fmt: skip
    state = wait_for(lambda: finished(http, ws, agent_id, task_id), 30, "task result")
    assert state["status"] == "succeeded", state
    assert state["assignedVia"] == via and state["attempts"] == 1
    assert state["result"]["exit_code"] == 0 and state["result"]["outcome"] == "succeeded"
    lines = [(e["level"], e["message"]) for e in state["logs"]]
    assert sorted(lines) == sorted([("info", "pulling"), ("info", "pulled"), ("error", "warn")])
    assert state["credentialsState"] == "erased"
    log = wait_for(lambda: f"task {task_id} completed (succeeded), acknowledged" in agent.log()
                   and agent.log(), 10, "acknowledgement")  # fmt: skip
    assert f"task {task_id} (shell) received via {via}" in log
    return dict(state)


def test_a_task_reaches_the_agent_through_its_heartbeat(
    http: httpx.Client, workspace: dict[str, Any], hourly: RunningSystem, agent: AgentProcess
) -> None:
    agent_id = registered(http, workspace, hourly, agent)
    secret = credentials()
    task = create_task(http, workspace, agent_id, taskType="shell", payload=SHELL,
                       credentials=secret)  # fmt: skip
    agent.start("--task-source", "heartbeat")
    assert_ran_and_acknowledged(http, workspace, agent, agent_id, task["taskId"], "heartbeat")
    assert agent.interrupt() < 2.0
    log = agent.log()
    assert secret["registry.password"] not in log and agent.identity()["credential"] not in log


def test_a_task_reaches_the_agent_through_polling(
    http: httpx.Client, workspace: dict[str, Any], hourly: RunningSystem, agent: AgentProcess
) -> None:
    agent_id = registered(http, workspace, hourly, agent)
    agent.start("--task-source", "poll")
    wait_for(lambda: first_beat_done(agent), 15, "first heartbeat")
    task = create_task(http, workspace, agent_id, taskType="shell", payload=SHELL,
                       credentials=credentials())  # fmt: skip
    assert_ran_and_acknowledged(http, workspace, agent, agent_id, task["taskId"], "poll")
    assert agent.interrupt() < 2.0


def test_a_task_reaches_the_agent_through_the_task_stream(
    http: httpx.Client, workspace: dict[str, Any], hourly: RunningSystem, agent: AgentProcess
) -> None:
    agent_id = registered(http, workspace, hourly, agent)
    agent.start("--task-source", "stream")
    wait_for(lambda: first_beat_done(agent), 15, "first heartbeat")
    wait_for(lambda: "task stream connected (1)" in agent.log(), 15, "task stream")
    task = create_task(http, workspace, agent_id, taskType="shell", payload=SHELL,
                       credentials=credentials())  # fmt: skip
    state = assert_ran_and_acknowledged(http, workspace, agent, agent_id, task["taskId"], "stream")
    # Progress went over the stream (what arrived before the end report counts).
    assert state["startedAt"] and state["progressMessage"] in ("accepted", "running")

    # A long task cancelled by the operator is stopped on the agent.
    long = create_task(http, workspace, agent_id, taskType="shell",
                       payload={"argv": ["sleep", "60"]})  # fmt: skip
    wait_for(lambda: task_state(http, workspace, agent_id, long["taskId"])["status"] == "running",
             15, "long task running")  # fmt: skip
    cancelled = http.delete(f"/api/v1/agents/{agent_id}/tasks/{long['taskId']}",
                            headers=key_headers(workspace))  # fmt: skip
    assert cancelled.status_code == 200
    wait_for(lambda: f"task {long['taskId']} cancelled by the hub" in agent.log(), 15, "stop")
    assert agent.interrupt() < 2.0
