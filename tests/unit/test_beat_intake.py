"""The heartbeat hot path with a recording transport: coalesced checks, refusals, outages,
partition routing (the real bus is exercised in tests/heartbeat)."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from agentplane.contracts.errors import ErrorKind, ServiceError, unauthorized
from agentplane.contracts.liveness import partition_of
from agentplane.contracts.reply import Reply
from agentplane.eventstore.views import SQLiteViewStore
from agentplane.heartbeat.application import HeartbeatStore, LivenessEngine
from agentplane.heartbeat.credentials import VerifiedTokens
from agentplane.heartbeat.intake import BeatIntake


class Published:
    """Stands in for the NATS client: records what the intake publishes."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, bytes, str]] = []

    async def publish(self, subject: str, payload: bytes = b"", reply: str = "") -> None:
        self.messages.append((subject, payload, reply))

    def replies(self, inbox: str) -> list[Reply]:
        return [Reply.model_validate_json(p) for s, p, _ in self.messages if s == inbox]


class Registry:
    """Stands in for the registry's authenticate answer, with a gate to hold it."""

    def __init__(self, valid: dict[str, str]) -> None:
        self.valid = valid
        self.calls = 0
        self.down = False
        self.gate = asyncio.Event()
        self.gate.set()

    async def request(self, subject: str, payload: BaseModel, timeout: float = 0) -> Any:
        self.calls += 1
        await self.gate.wait()
        if self.down:
            raise ServiceError(ErrorKind.UNAVAILABLE, "registry service is unavailable")
        data = payload.model_dump(mode="json")
        if self.valid.get(data["agent_id"]) != data["token"]:
            raise unauthorized("Invalid agent credentials")
        return {"agent_id": data["agent_id"], "workspace_id": "ws"}


class Msg:
    def __init__(self, subject: str, body: Any, reply: str = "") -> None:
        self.subject = subject
        self.data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.reply = reply


def build(
    tmp_path: Path, registry: Registry, *, partitions: int = 1, owned: list[int] | None = None
) -> tuple[BeatIntake, Published]:
    engine = LivenessEngine(
        HeartbeatStore(
            {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(tmp_path / "h.db")}
        ),
        SQLiteViewStore(tmp_path / "views.sqlite"),
        SQLiteViewStore(tmp_path / "checkpoint.sqlite"),
        offline_after=90,
        grace=5,
        tokens=VerifiedTokens(ttl=300),
    )
    nc = Published()
    intake = BeatIntake(
        engine,
        engine.tokens,
        nc,  # type: ignore[arg-type]
        registry,  # type: ignore[arg-type]
        partitions=partitions,
        owned=owned if owned is not None else list(range(partitions)),
        instance="test",
    )
    return intake, nc


async def settle(intake: BeatIntake) -> None:
    while intake._tasks:
        await asyncio.gather(*list(intake._tasks))


@pytest.fixture
def agent() -> tuple[str, str]:
    return str(uuid.uuid4()), "agent_tok_" + uuid.uuid4().hex


async def test_beats_during_one_check_share_it_and_later_ones_need_none(
    tmp_path: Path, agent: tuple[str, str]
) -> None:
    agent_id, token = agent
    registry = Registry({agent_id: token})
    intake, nc = build(tmp_path, registry)
    registry.gate.clear()
    for i in range(5):
        await intake.on_native(Msg(f"ap.hb.{agent_id}", {"token": token, "n": i}, f"in.{i}"))
    await asyncio.sleep(0)
    assert registry.calls == 1
    registry.gate.set()
    await settle(intake)
    assert intake.counts.accepted == 5
    assert all(nc.replies(f"in.{i}")[0].ok for i in range(5))
    # Each beat's own fields reached telemetry, in order, without the token.
    telemetry = [json.loads(p) for s, p, _ in nc.messages if s.startswith("ap.telemetry.")]
    assert telemetry == [{"n": i} for i in range(5)]
    await intake.on_native(Msg(f"ap.hb.{agent_id}", {"token": token}))
    assert registry.calls == 1
    assert intake.counts.accepted == 6
    assert intake.table.get(agent_id).online  # type: ignore[union-attr]


async def test_a_refused_token_is_refused_again_without_asking(
    tmp_path: Path, agent: tuple[str, str]
) -> None:
    agent_id, token = agent
    registry = Registry({agent_id: token})
    intake, nc = build(tmp_path, registry)
    await intake.on_native(Msg(f"ap.hb.{agent_id}", {"token": "wrong"}, "in.1"))
    await settle(intake)
    await intake.on_native(Msg(f"ap.hb.{agent_id}", {"token": "wrong"}, "in.2"))
    await settle(intake)
    assert registry.calls == 1
    assert intake.counts.rejected == 2
    for inbox in ("in.1", "in.2"):
        error = nc.replies(inbox)[0].error
        assert error is not None and error.kind == ErrorKind.UNAUTHORIZED
    assert intake.table.get(agent_id) is None
    # A registry event of the agent clears the refusal (e.g. it just registered).
    intake.forget_agent(agent_id)
    await intake.on_native(Msg(f"ap.hb.{agent_id}", {"token": "wrong"}))
    await settle(intake)
    assert registry.calls == 2


async def test_a_registry_outage_keeps_known_tokens_working_but_admits_no_new_ones(
    tmp_path: Path, agent: tuple[str, str]
) -> None:
    agent_id, token = agent
    stranger, stranger_token = str(uuid.uuid4()), "agent_tok_x"
    registry = Registry({agent_id: token, stranger: stranger_token})
    intake, nc = build(tmp_path, registry)
    await intake.on_native(Msg(f"ap.hb.{agent_id}", {"token": token}))
    await settle(intake)
    slot = intake.table.index[agent_id]
    intake.tokens.until[slot] = 1.0  # its trust ran out by time
    registry.down = True
    await intake.on_native(Msg(f"ap.hb.{agent_id}", {"token": token}, "in.known"))
    await intake.on_native(Msg(f"ap.hb.{stranger}", {"token": stranger_token}, "in.new"))
    await settle(intake)
    assert nc.replies("in.known")[0].ok
    error = nc.replies("in.new")[0].error
    assert error is not None and error.kind == ErrorKind.UNAVAILABLE
    assert intake.counts.unverified == 1
    # A revoked token is not rescued by the outage rule.
    intake.forget_agent(agent_id)
    await intake.on_native(Msg(f"ap.hb.{agent_id}", {"token": token}, "in.revoked"))
    await settle(intake)
    assert not nc.replies("in.revoked")[0].ok


async def test_beats_of_other_partitions_go_to_their_owner(tmp_path: Path) -> None:
    registry = Registry({})
    intake, nc = build(tmp_path, registry, partitions=4, owned=[0])
    foreign = next(a for a in (str(uuid.uuid4()) for _ in range(100)) if partition_of(a, 4))
    body = {"token": "t"}
    await intake.on_native(Msg(f"ap.hb.{foreign}", body, "in.agent"))
    subject, payload, reply = nc.messages[-1]
    assert subject == f"ap.hb.{partition_of(foreign, 4)}.{foreign}"
    assert json.loads(payload) == body and reply == "in.agent"
    await intake.on_gateway_beat(Msg("ap.heartbeat.beat", {"agent_id": foreign, "token": "t"}))
    assert nc.messages[-1][0] == f"ap.hb.{partition_of(foreign, 4)}.{foreign}"
    assert json.loads(nc.messages[-1][1]) == {"token": "t"}
    assert intake.counts.forwarded == 2
    assert registry.calls == 0
