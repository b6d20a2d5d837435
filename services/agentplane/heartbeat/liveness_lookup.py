"""Liveness of any agents, asked by list pages for thousands at a time: scattered to the
partitions' owners, gathered into one `LivenessReport` encoded without a model per agent."""

from __future__ import annotations

import asyncio
import json
import re
from collections import defaultdict
from typing import Any
from uuid import UUID

from agentplane.bus.handlers import EncodedData
from agentplane.bus.requests import BusClient
from agentplane.contracts.liveness import LivenessQuery, partition_of
from agentplane.contracts.subjects import Heartbeat as Subjects
from agentplane.heartbeat.intake import BeatIntake

# Agent ids as `str(UUID)` writes them (the liveness table's keys).
_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
MAX_LIVENESS_IDS = 100_000


def _encoded(agents: dict[str, dict[str, Any]]) -> EncodedData:
    return EncodedData(json.dumps({"agents": agents}, separators=(",", ":")).encode())


class LivenessLookup:
    def __init__(self, intake: BeatIntake, bus: BusClient) -> None:
        self.intake = intake
        self.engine = intake.engine
        self.bus = bus

    async def of_agents(self, raw: bytes) -> EncodedData:
        """`LivenessQuery` of any agents. Ids in canonical form (what every caller sends)
        skip the model; anything else is validated by it, errors included."""
        try:
            ids = json.loads(raw)["agent_ids"]
            canonical = (
                isinstance(ids, list)
                and len(ids) <= MAX_LIVENESS_IDS
                and all(isinstance(a, str) and _CANONICAL_UUID.fullmatch(a) for a in ids)
            )
        except (ValueError, TypeError, KeyError):
            canonical = False
        if not canonical:
            ids = [str(a) for a in LivenessQuery.model_validate_json(raw).agent_ids]
        return await self._gather(ids)

    async def of_partition(self, query: LivenessQuery) -> EncodedData:
        """The agents of a partition this replica owns."""
        return _encoded(self.engine.report_json(str(a) for a in query.agent_ids))

    async def _gather(self, agent_ids: list[str]) -> EncodedData:
        by_partition: dict[int, list[str]] = defaultdict(list)
        partitions = self.intake.partitions
        if partitions == 1:
            by_partition[0] = agent_ids
        else:
            for agent_id in agent_ids:
                by_partition[partition_of(agent_id, partitions)].append(agent_id)
        agents: dict[str, dict[str, Any]] = {}
        remote = [p for p in by_partition if p not in self.intake.owned]
        for partition in by_partition.keys() - set(remote):
            agents.update(self.engine.report_json(by_partition[partition]))
        answers = await asyncio.gather(
            *(
                self.bus.request(
                    Subjects.liveness_query_of(p),
                    LivenessQuery(agent_ids=[UUID(a) for a in by_partition[p]]),
                )
                for p in remote
            )
        )
        for answer in answers:
            agents.update(answer.get("agents") or {})
        return _encoded(agents)
