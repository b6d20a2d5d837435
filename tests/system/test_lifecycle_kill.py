"""kill -9 of the lifecycle service while its audit consumer applies a stream of remote
commands: every acknowledged command still becomes exactly one `command_sent` audit entry
(the consumer acknowledges a batch only once it is applied; what is redelivered is applied
idempotently)."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable

import httpx
from tests.system.kill_storm import kill_during_storm
from tests.system.listing import every_page
from tests.system.two_agents import workspace_with_two_agents

from agentplane.contracts.streams import ACK_WAIT_SECONDS
from agentplane.testing.system import RunningSystem

COMMANDS = 1000
CONNECTIONS = 32
# Acknowledged commands before the kill: the audit is lingering over or applying a batch then.
KILL_AFTER = 300


def _sent_entries(http: httpx.Client, agent: str, key: dict[str, str]) -> list[dict]:
    logs = every_page(http, f"/v1/agents/{agent}/audit-logs?limit=1000", "logs", key)
    return [e for e in logs if e["action"] == "command_sent"]


def test_kill_9_of_lifecycle_during_commands_loses_and_duplicates_no_audit_entry(
    system_factory: Callable[..., RunningSystem],
) -> None:
    system = system_factory()
    api_key, *agents = workspace_with_two_agents(system)
    key = {"x-api-key": api_key}

    async def storm() -> list[str]:
        acknowledged: list[str] = []
        enough = asyncio.Event()

        async def one(client: httpx.AsyncClient, n: int) -> None:
            response = await client.post(
                f"/v1/agents/{agents[n % 2]}/command",
                json={"action": "status", "params": {"n": n}},
                headers=key,
            )
            # Lifecycle is not on the command's path: every command is answered.
            assert response.status_code == 200, response.text
            acknowledged.append(response.json()["commandId"])
            if len(acknowledged) >= KILL_AFTER:
                enough.set()

        await kill_during_storm(system, "lifecycle", COMMANDS, CONNECTIONS, one, enough)
        return acknowledged

    acknowledged = asyncio.run(storm())
    assert len(acknowledged) == COMMANDS

    with httpx.Client(base_url=system.base_url, timeout=60) as http:
        # What the killed process held unacknowledged comes again once its ack wait ends
        # (the server does not know the process died); until then a read does not see it.
        deadline = time.monotonic() + ACK_WAIT_SECONDS + 60
        while True:
            entries = [e for agent in agents for e in _sent_entries(http, agent, key)]
            if len(entries) >= COMMANDS or time.monotonic() > deadline:
                break
            time.sleep(1.0)
    ids = Counter(e["metadata"]["commandId"] for e in entries)
    duplicated = [c for c, n in ids.items() if n > 1]
    assert not duplicated, f"{len(duplicated)} commands have more than one entry"
    missing = set(acknowledged) - set(ids)
    assert not missing, f"{len(missing)} acknowledged commands have no audit entry"
    assert len(ids) == COMMANDS
