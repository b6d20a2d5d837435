"""The caller's deadline through the running system: the gateway's bus requests carry it, and
the registry does not run a command whose deadline passed before it started."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import httpx
import nats.aio.msg

from agentplane.bus import deadlines
from agentplane.contracts.agents import RegisterAgent
from agentplane.contracts.reply import Reply
from agentplane.contracts.subjects import Registry
from agentplane.testing.system import RunningSystem


def _token() -> str:
    return "agent_tok_" + uuid.uuid4().hex * 2


async def test_the_gateway_sends_its_deadline_with_a_registration(
    system: RunningSystem, workspace: dict[str, Any]
) -> None:
    nc = await system.nats_connect()
    seen: asyncio.Queue[nats.aio.msg.Msg] = asyncio.Queue()
    agent_id = str(uuid.uuid4())

    async def copy(msg: nats.aio.msg.Msg) -> None:
        if agent_id.encode() in msg.data:
            await seen.put(msg)

    # No queue group: a copy of each registration, beside the registry's own.
    await nc.subscribe(Registry.AGENT_REGISTER, cb=copy)
    await nc.flush()
    try:
        async with httpx.AsyncClient(base_url=system.base_url, timeout=30) as http:
            before = time.time()
            response = await http.post(
                "/v1/agents/register",
                json={"agentId": agent_id, "token": _token()},
                headers={"x-api-key": workspace["apiKey"]},
            )
            after = time.time()
        assert response.status_code == 201, response.text
        msg = await asyncio.wait_for(seen.get(), 10)
    finally:
        await nc.close()
    deadline = deadlines.from_headers(msg.headers)
    assert deadline is not None, f"no {deadlines.HEADER} header: {msg.headers}"
    # Set when the request was sent, for a budget of at most the registration's 30 s.
    assert before < deadline <= after + 30


async def test_a_registration_past_its_deadline_is_answered_not_run_and_not_saved(
    system: RunningSystem, workspace: dict[str, Any]
) -> None:
    agent_id = uuid.uuid4()
    cmd = RegisterAgent(workspace_id=workspace["workspaceId"], agent_id=agent_id, token=_token())
    nc = await system.nats_connect()
    try:
        msg = await nc.request(
            Registry.AGENT_REGISTER,
            cmd.model_dump_json().encode(),
            timeout=10,
            headers=deadlines.header(time.time() - 1),
        )
    finally:
        await nc.close()
    reply = Reply.model_validate_json(msg.data)
    assert not reply.ok and reply.error is not None
    assert reply.error.kind == "deadline_exceeded", reply.error
    async with httpx.AsyncClient(base_url=system.base_url, timeout=30) as http:
        response = await http.get(
            f"/v1/agents/{agent_id}", headers={"x-api-key": workspace["apiKey"]}
        )
    assert response.status_code == 404, response.text
