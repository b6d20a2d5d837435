"""Seed 000 online agents: a page of summaries, only the agents the heartbeat service says are
online kept. Whether an agent is online is the heartbeat service's answer; which agents a
workspace has is the registry's, so the registry joins the two and callers only show them.

Pages of a big fleet are thousands of agents: they are decoded and encoded with orjson, and
never as a model per agent (the reply has `OnlineAgentPage`'s shape).
"""

from __future__ import annotations

from typing import Any

import orjson

from agentplane.bus.requests import BusClient
from agentplane.contracts.agents import ListAgentSummaries
from agentplane.contracts.online_agents import ListOnlineAgents
from agentplane.contracts.subjects import Heartbeat
from agentplane.registry.agents import Agents
from agentplane.registry.dispatch import Dispatch


class OnlineAgents:
    """The online page (async: it asks the heartbeat service over the bus)."""

    def __init__(self, agents: Agents, dispatch: Dispatch, bus: BusClient) -> None:
        self.agents, self.dispatch, self.bus = agents, dispatch, bus

    async def list(self, q: ListOnlineAgents) -> bytes:
        listing = ListAgentSummaries(workspace_id=q.workspace_id, after=q.after, limit=q.limit)
        page = orjson.loads(await self.dispatch.query(self.agents.agent_summaries_encoded, listing))
        docs: list[dict[str, Any]] = page["agents"]
        report: dict[str, Any] = {}
        if docs:
            query = orjson.dumps({"agent_ids": [d["id"] for d in docs]})
            report = (await self.bus.request(Heartbeat.LIVENESS_QUERY, query)).get("agents") or {}
        online = [d for d in docs if (report.get(d["id"]) or {}).get("online")]
        return orjson.dumps(
            {
                "agents": online,
                "liveness": {d["id"]: report[d["id"]] for d in online},
                "next_after": page.get("next_after"),
            }
        )
