"""The registry's batches wait a little for more commands only when it is busy with others.

A Dispatch with a registry and relay of test doubles (the real ones are covered by the
registry's e2e and deadline tests): commands whose publication is held stay outstanding,
so the registry is busy while both batch threads are free.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import BaseModel

from agentplane.registry import dispatch as dispatch_module
from agentplane.registry.dispatch import Dispatch, batched


class Answer(BaseModel):
    n: int


class Committer:
    def __init__(self) -> None:
        self.position = 0

    def save_each(self, members: list[tuple[Any, ...]]) -> list[int]:
        self.position += 1
        return [self.position for _ in members]


class Registry:
    def __init__(self) -> None:
        self.committer = Committer()

    @contextlib.contextmanager
    def deferring(self) -> Iterator[list[Any]]:
        yield ["event"]


class Relay:
    """Publication held until `release` is set for every position but the first ones."""

    def __init__(self, free: int) -> None:
        self.free = free
        self.release = asyncio.Event()
        self.holding = asyncio.Event()

    async def wait_published(self, position: int, timeout: float) -> bool:
        if position > self.free:
            self.holding.set()
            await self.release.wait()
        return True


def use_case(cmd: int) -> tuple[BaseModel, int]:
    return Answer(n=cmd), 1


@pytest.fixture
def linger(monkeypatch: pytest.MonkeyPatch) -> None:
    # Long enough that a command which waited for it could not be answered in time below.
    monkeypatch.setattr(dispatch_module, "LINGER_SECONDS", 10.0)


async def test_busy_registry_gathers_commands_arriving_apart_in_one_batch(
    linger: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    relay = Relay(free=0)
    dispatch = Dispatch(relay, Registry())  # type: ignore[arg-type]
    try:
        held = [asyncio.create_task(dispatch.command(batched(use_case), n)) for n in (1, 2)]
        # Committed; their answers are held until their events are public.
        await asyncio.wait_for(relay.holding.wait(), 5.0)
        before = dispatch.batches
        relay.free = 10**9  # what comes next is published at once
        monkeypatch.setattr(dispatch_module, "LINGER_UNTIL", 3)  # it leaves once full
        later = []
        for n in (3, 4, 5):  # apart in time, each while two others are outstanding
            later.append(asyncio.create_task(dispatch.command(batched(use_case), n)))
            await asyncio.sleep(0.05)
        answers = await asyncio.wait_for(asyncio.gather(*later), 5.0)
        assert [a.n for a in answers] == [3, 4, 5]  # type: ignore[attr-defined]
        assert dispatch.batches - before == 1, "the three should have left as one batch"
        relay.release.set()
        await asyncio.gather(*held)
    finally:
        dispatch.threads.shutdown()
        dispatch.batch_threads.shutdown()


async def test_a_lone_command_and_one_after_another_never_wait(linger: None) -> None:
    relay = Relay(free=10**9)
    dispatch = Dispatch(relay, Registry())  # type: ignore[arg-type]
    try:
        for n in range(5):  # each alone: answered long before a linger would end
            answer = await asyncio.wait_for(dispatch.command(batched(use_case), n), 5.0)
            assert answer.n == n  # type: ignore[attr-defined]
        assert dispatch.batches == 5
    finally:
        dispatch.threads.shutdown()
        dispatch.batch_threads.shutdown()
