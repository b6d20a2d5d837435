"""`agentplane agent run` against the real session system: enrollment, online in the fleet,
restart with the stored identity, Ctrl-C, the NATS channel (commands and tasks, sent here as
the hub would send them, and from the messaging service), a seed 000 identity, key
rotation and the signed-update check."""

from __future__ import annotations

import asyncio
import json
import secrets
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.agent.process import AgentProcess
from tests.nats_auth.agents import seed000_agent

from agentplane.contracts.subjects import AgentChannel
from agentplane.testing.system import RunningSystem, agentplane_command

pytestmark = pytest.mark.system


def key_headers(ws: dict[str, Any]) -> dict[str, str]:
    return {"x-api-key": ws["apiKey"]}


def enrollment_token(http: httpx.Client, ws: dict[str, Any]) -> str:
    response = http.post(
        "/v1/enrollment-tokens", json={"kind": "enrollment"}, headers=key_headers(ws)
    )
    assert response.status_code == 201, response.text
    return str(response.json()["token"])


def fleet_entry(http: httpx.Client, ws: dict[str, Any], agent_id: str) -> dict[str, Any] | None:
    listed = http.get("/v1/agents", headers=key_headers(ws)).json()
    return next((a for a in listed if a["id"] == agent_id), None)


def wait_for(check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"{what} not within {timeout}s")


def start_enrolled(
    agent: AgentProcess, http: httpx.Client, workspace: dict[str, Any], system: RunningSystem
) -> str:
    """Start the agent with a fresh enrollment token; its id once the fleet lists it."""
    agent.start("--server", system.base_url, "--enrollment-token",
                enrollment_token(http, workspace), "--nats-url", system.nats_url)  # fmt: skip
    return str(wait_for(
        lambda: (e := (agent.state_dir / "identity.json").exists() and agent.identity())
        and fleet_entry(http, workspace, e["agent_id"]) and e["agent_id"], 20, "online",
    ))  # fmt: skip


def send_command(http: httpx.Client, workspace: dict[str, Any], agent_id: str, action: str) -> str:
    sent = http.post(f"/v1/agents/{agent_id}/command", json={"action": action},
                     headers=key_headers(workspace))  # fmt: skip
    assert sent.status_code in (200, 201, 202), sent.text
    return str(sent.json()["commandId"])


def reconnects(http: httpx.Client, ws: dict[str, Any], agent_id: str) -> list[dict[str, Any]]:
    logs = http.get(f"/v1/agents/{agent_id}/audit-logs", headers=key_headers(ws)).json()["logs"]
    return [entry for entry in logs if entry["action"] == "reconnected"]


@pytest.fixture
def agent(tmp_path: Path) -> Iterator[AgentProcess]:
    process = AgentProcess(tmp_path / "state", tmp_path / "agent.log")
    yield process
    process.kill()


def test_enroll_online_restart_with_identity_and_ctrl_c(
    http: httpx.Client, workspace: dict[str, Any], system: RunningSystem, agent: AgentProcess
) -> None:
    token = enrollment_token(http, workspace)
    # No --nats-url: the agent finds NATS through GET /v1/agent-channel.
    agent.start("--server", system.base_url, "--enrollment-token", token, "--name", "e2e")
    identity = wait_for(
        lambda: (agent.state_dir / "identity.json").exists() and agent.identity(), 10, "identity"
    )
    agent_id = identity["agent_id"]
    entry = wait_for(
        lambda: (e := fleet_entry(http, workspace, agent_id)) and e["isOnline"] and e, 10, "online"
    )
    online_after = time.monotonic() - agent.started_at
    # About 1.5 s on an idle machine; the bound leaves room for a busy one.
    assert online_after < 15.0, f"online after {online_after:.2f}s"
    assert entry["isOnline"] is True
    assert agent.state_dir.stat().st_mode & 0o777 == 0o700
    assert (agent.state_dir / "identity.json").stat().st_mode & 0o777 == 0o600

    wait_for(lambda: "channel connected (1)" in agent.log(), 10, "channel via discovery")
    took = agent.interrupt()
    # A clean exit, not one forced by the 10 s wait of `interrupt`.
    assert took < 8.0 and agent.proc is not None and agent.proc.returncode == 0

    # The second start needs no token: it is the same agent, and says why it was away.
    agent.start("--server", system.base_url)
    found = wait_for(lambda: reconnects(http, workspace, agent_id), 15, "reconnected entry")
    assert found[0]["metadata"]["reason"] == "service_restart"
    assert agent.identity()["agent_id"] == agent_id
    assert agent.interrupt() < 2.0

    log = agent.log()
    assert identity["credential"] not in log and token not in log
    assert "enrolled as agent" in log and "reported reconnect_reason service_restart" in log


def test_a_start_without_identity_or_token_fails_clearly(tmp_path: Path) -> None:
    result = subprocess.run(
        [*agentplane_command(), "agent", "run", "--state-dir", str(tmp_path / "empty")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2 and "--enrollment-token" in result.stderr


class Hub:
    """The test plays the hub on the system's NATS (service credential)."""

    def __init__(self, system: RunningSystem, agent_id: str) -> None:
        self.system = system
        self.agent_id = agent_id
        self.seen: dict[str, list[dict[str, Any]]] = {}

    async def __aenter__(self) -> Hub:
        self.nc = await self.system.nats_connect()

        async def record(msg: Any) -> None:
            kind = msg.subject.split(".", 3)[3]
            self.seen.setdefault(kind, []).append(json.loads(msg.data))

        await self.nc.subscribe(f"ap.agent.{self.agent_id}.>", cb=record)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.nc.close()

    async def send(self, kind: str, body: dict[str, Any], message_id: str | None = None) -> Any:
        message = {
            "id": message_id or str(uuid.uuid4()), "kind": kind,
            "sent_at": datetime.now(UTC).isoformat(), "body": body,
        }  # fmt: skip
        reply = await self.nc.request(
            AgentChannel.inbox(self.agent_id), json.dumps(message).encode(), timeout=5
        )
        return json.loads(reply.data)

    async def until_subscribed(self, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                await self.send("config", {"heartbeat_interval_seconds": 30})
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.2)

    async def wait(self, kind: str, count: int = 1, timeout: float = 10.0) -> list[Any]:
        deadline = time.monotonic() + timeout
        while len(self.seen.get(kind, [])) < count:
            assert time.monotonic() < deadline, f"no {kind} x{count}: {self.seen}"
            await asyncio.sleep(0.05)
        return self.seen[kind]


def command(command_id: str, action: str) -> dict[str, Any]:
    expires = (datetime.now(UTC) + timedelta(minutes=5)).isoformat()
    return {"command_id": command_id, "action": action, "expires_at": expires}


def test_commands_and_tasks_over_the_nats_channel(
    http: httpx.Client, workspace: dict[str, Any], system: RunningSystem, agent: AgentProcess
) -> None:
    agent.start("--server", system.base_url, "--enrollment-token",
                enrollment_token(http, workspace), "--nats-url", system.nats_url)  # fmt: skip
    agent_id = wait_for(
        lambda: (agent.state_dir / "identity.json").exists() and agent.identity()["agent_id"],
        10, "identity",
    )  # fmt: skip

    async def scenario() -> None:
        async with Hub(system, agent_id) as hub:
            await hub.until_subscribed()
            ack = await hub.send("command", command("c1", "status"), "m-status")
            assert ack == {"message_id": "m-status", "accepted": True, "error": None}
            # A resend of the same message is acked again but not run twice.
            assert (await hub.send("command", command("c1", "status"), "m-status"))["accepted"]
            status = (await hub.wait("result"))[0]
            assert status["outcome"] == "succeeded" and status["result"]["pid"] == agent.pid
            assert status["result"]["agent_id"] == agent_id

            offer = {"task_id": "t1", "task_type": "shell",
                     "payload": {"argv": ["sh", "-c", "echo one; echo two; exit 4"]}}  # fmt: skip
            assert (await hub.send("task.offer", offer))["accepted"]
            result = (await hub.wait("task.result"))[0]
            assert result["outcome"] == "failed" and result["result"]["exit_code"] == 4
            assert [e["line"] for e in hub.seen["task.log"]] == ["one", "two"]

            refused = await hub.send("reach.request", {})
            assert refused["accepted"] is False and "invalid reach.request" in refused["error"]
            await hub.send("command", command("c2", "reach"))
            results = await hub.wait("result", 2)
            assert results[1]["outcome"] == "failed" and "not supported" in results[1]["error"]

            # restart: result first, then the same process re-executes itself. Its first hello
            # may have gone out before this hub subscribed: count from what was seen so far.
            hellos = len(hub.seen.get("hello", []))
            await hub.send("command", command("c3", "restart"))
            assert (await hub.wait("result", 3))[2]["command_id"] == "c3"
            await hub.wait("hello", hellos + 1, timeout=30)
            await hub.until_subscribed()
            await hub.send("command", command("c4", "status"))
            after = (await hub.wait("result", 4, timeout=15))[3]
            assert after["result"]["pid"] == agent.pid and after["result"]["uptime_seconds"] < 30

            await hub.send("command", command("c5", "stop"))
            assert (await hub.wait("result", 5))[4]["outcome"] == "succeeded"

    asyncio.run(scenario())
    assert agent.proc is not None and agent.proc.wait(10) == 0
    assert agent.identity()["credential"] not in agent.log()


def test_seed000_identity_heartbeats_and_connects(
    http: httpx.Client, workspace: dict[str, Any], system: RunningSystem, agent: AgentProcess
) -> None:
    agent_id, token = str(uuid.uuid4()), secrets.token_urlsafe(40)
    registered = http.post(
        "/v1/agents/register", json={"agentId": agent_id, "token": token, "name": "v1-agent"},
        headers=key_headers(workspace),
    )  # fmt: skip
    assert registered.status_code in (200, 201), registered.text
    agent.start("--server", system.base_url, "--agent-id", agent_id, "--token", token,
                "--nats-url", system.nats_url)  # fmt: skip
    wait_for(lambda: (e := fleet_entry(http, workspace, agent_id)) and e["isOnline"], 10, "online")

    async def scenario() -> None:
        async with Hub(system, agent_id) as hub:
            await hub.until_subscribed()
            await hub.send("command", command("c1", "status"))
            assert (await hub.wait("result"))[0]["result"]["agent_id"] == agent_id

    asyncio.run(scenario())
    assert agent.interrupt() < 2.0
    assert token not in agent.log()


def test_update_check_verifies_the_release(
    http: httpx.Client, workspace: dict[str, Any], system: RunningSystem, tmp_path: Path
) -> None:
    from agentplane.agent.state import Identity, StateDir

    enrolled = http.post(
        "/api/agent/enroll",
        json={"token": enrollment_token(http, workspace), "hostname": "h", "os": "linux",
              "arch": "amd64", "agent_version": "0.1.0"},
    ).json()["data"]  # fmt: skip
    state = StateDir(tmp_path / "update-state")
    identity = Identity("device", enrolled["agent_id"], enrolled["api_key"], system.base_url,
                        enrolled["public_key"])  # fmt: skip
    state.save_identity(identity)

    def check() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*agentplane_command(), "agent", "update", "--check", "--state-dir", str(state.path)],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip

    none = check()
    assert none.returncode == 0 and json.loads(none.stdout)["verdict"] == "up_to_date"
    release = {"version": "9.1.0", "url": "https://downloads.example.com/9.1.0/agent",
               "sha256": "3f" * 32}  # fmt: skip
    published = http.post("/v1/agent-releases", json=release, headers=key_headers(workspace))
    assert published.status_code == 201, published.text
    good = check()
    assert good.returncode == 0, good.stdout + good.stderr
    assert json.loads(good.stdout) | {"detail": ""} == {
        "verdict": "available", "current": "0.1.0", "offered": "9.1.0", "detail": ""
    }  # fmt: skip
    # A key other than the enrollment key (as if the release came from elsewhere): exit 2.
    forged_key = "A" * 43 + "="
    state.save_identity(
        Identity("device", identity.agent_id, identity.credential, system.base_url, forged_key)
    )
    bad = check()
    assert bad.returncode == 2 and json.loads(bad.stdout)["verdict"] == "bad_signature"
    assert identity.credential not in bad.stdout + bad.stderr


def test_a_command_sent_over_http_reaches_the_agent_and_completes(
    http: httpx.Client, workspace: dict[str, Any], system: RunningSystem, agent: AgentProcess
) -> None:
    agent_id = start_enrolled(agent, http, workspace, system)
    command_id = send_command(http, workspace, agent_id, "status")

    def finished() -> dict[str, Any] | None:
        state = http.get(f"/v1/agents/{agent_id}/commands/{command_id}",
                         headers=key_headers(workspace)).json()  # fmt: skip
        return state if state.get("status") in ("succeeded", "failed") else None

    state = wait_for(finished, 15, "command result")
    assert state["status"] == "succeeded" and state["result"]["agent_id"] == agent_id

    command_id = send_command(http, workspace, agent_id, "reach")
    failed = wait_for(finished, 15, "reach result")
    assert failed["status"] == "failed" and "not supported" in failed["error"]
    command_id = send_command(http, workspace, agent_id, "stop")
    assert wait_for(finished, 15, "stop result")["status"] == "succeeded"
    assert agent.proc is not None and agent.proc.wait(10) == 0


def test_commands_sent_while_the_agent_is_stopped_run_after_it_starts_again_in_order(
    http: httpx.Client, workspace: dict[str, Any], system: RunningSystem, agent: AgentProcess
) -> None:
    agent_id = start_enrolled(agent, http, workspace, system)
    agent.interrupt()  # stopped: nobody listens on its channel

    def state(command_id: str) -> dict[str, Any]:
        response = http.get(f"/v1/agents/{agent_id}/commands/{command_id}",
                            headers=key_headers(workspace))  # fmt: skip
        assert response.status_code == 200, response.text
        return dict(response.json())

    first, second = (send_command(http, workspace, agent_id, "status") for _ in range(2))
    # Nothing reaches a stopped agent: both wait, however long the hub keeps retrying.
    time.sleep(1.0)
    assert [state(c)["status"] for c in (first, second)] == ["queued", "queued"]

    agent.start("--server", system.base_url, "--nats-url", system.nats_url)
    done = [wait_for(lambda c=c: (s := state(c))["status"] in ("succeeded", "failed") and s,
                     20, f"result of {c}") for c in (first, second)]  # fmt: skip
    for finished in done:
        # Run by the restarted process, and its result is what the operator sees.
        assert finished["status"] == "succeeded", finished
        assert finished["result"]["agent_id"] == agent_id
        assert finished["result"]["pid"] == agent.pid
        assert finished["deliveredAt"] and finished["acknowledgedAt"] and finished["finishedAt"]
    # In the order sent: the first was handed over no later than the second.
    assert done[0]["acknowledgedAt"] <= done[1]["acknowledgedAt"]


def test_a_message_sent_while_the_agent_is_stopped_lands_in_its_inbox_file(
    http: httpx.Client, workspace: dict[str, Any], system: RunningSystem, agent: AgentProcess
) -> None:
    agent_id = start_enrolled(agent, http, workspace, system)
    agent.kill()
    sender, _ = seed000_agent(http, workspace)

    def send(n: int) -> str:
        sent = http.post(
            f"/v1/agents/{sender}/messages/send",
            json={"toAgentId": agent_id, "payload": {"n": n}, "channel": "jobs",
                  "type": "request", "correlationId": f"r{n}"},
            headers=key_headers(workspace),
        )  # fmt: skip
        assert sent.status_code == 200, sent.text
        return str(sent.json()["messageId"])

    first = send(1)  # while the agent is stopped: delivered after it says hello again
    agent.start("--server", system.base_url, "--nats-url", system.nats_url)
    inbox = agent.state_dir / "inbox.jsonl"

    def stored() -> list[dict[str, Any]]:
        lines = inbox.read_text().splitlines() if inbox.exists() else []
        return [json.loads(line) for line in lines]

    assert wait_for(lambda: [m["id"] for m in stored()] == [first], 20, "the queued message")
    second = send(2)  # while it runs: live
    assert wait_for(lambda: [m["id"] for m in stored()] == [first, second], 15, "live message")
    line = stored()[0]
    assert line["from"] == sender and line["payload"] == {"n": 1} and line["channel"] == "jobs"
    assert line["type"] == "request" and line["correlationId"] == "r1"
    assert inbox.stat().st_mode & 0o777 == 0o600

    def delivered() -> bool:
        listed = http.get(f"/v1/agents/{agent_id}/messages", headers=key_headers(workspace))
        return all(m["deliveredAt"] for m in listed.json()["messages"])

    assert wait_for(delivered, 10, "deliveredAt in the hub's inbox")


def test_a_rotated_key_is_stored_and_the_channel_reconnects_with_it(
    http: httpx.Client, workspace: dict[str, Any], system: RunningSystem, agent: AgentProcess
) -> None:
    agent.start("--server", system.base_url, "--enrollment-token",
                enrollment_token(http, workspace), "--nats-url", system.nats_url)  # fmt: skip
    first = wait_for(
        lambda: (agent.state_dir / "identity.json").exists() and agent.identity(), 10, "identity"
    )
    agent_id, old_key = first["agent_id"], first["credential"]

    async def fast_beats() -> None:
        async with Hub(system, agent_id) as hub:
            await hub.until_subscribed()
            await hub.send("config", {"heartbeat_interval_seconds": 1.0})

    asyncio.run(fast_beats())
    rotated = http.post(f"/v1/agents/{agent_id}/api-key/rotate", headers=key_headers(workspace))
    assert rotated.status_code in (200, 201, 202), rotated.text
    new_key = wait_for(
        lambda: (key := agent.identity()["credential"]) != old_key and key, 15, "rotated key"
    )
    wait_for(lambda: "channel connected (2)" in agent.log(), 10, "reconnect with the new key")

    async def still_served() -> None:
        async with Hub(system, agent_id) as hub:
            await hub.until_subscribed()
            await hub.send("command", command("c1", "status"))
            assert (await hub.wait("result"))[0]["outcome"] == "succeeded"

    asyncio.run(still_served())
    assert agent.interrupt() < 2.0
    log = agent.log()
    assert old_key not in log and new_key not in log and "api key rotated" in log
