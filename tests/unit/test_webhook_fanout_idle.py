"""The webhook fan-out counts a fetch that times out as idle, whichever timeout nats-py raises:
its own, or (2.16, when the fetch's deadline passes between two pull requests) a bare
asyncio.TimeoutError, which once logged "fan-out interrupted ()" and paused the fan-out."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from nats.errors import TimeoutError as NatsTimeout

from agentplane.webhooks import fanout


class _IdleSubscription:
    def __init__(self, timeouts: list[BaseException]) -> None:
        self.timeouts = timeouts
        self.fetches = 0

    async def fetch(self, batch: int, timeout: float) -> list[Any]:
        self.fetches += 1
        await asyncio.sleep(0)
        raise self.timeouts[self.fetches % len(self.timeouts)]

    async def unsubscribe(self) -> None:
        return None


class _JetStream:
    def __init__(self, sub: _IdleSubscription) -> None:
        self.sub = sub
        self.binds = 0

    async def pull_subscribe(self, *args: Any, **kwargs: Any) -> _IdleSubscription:
        self.binds += 1
        return self.sub


class _Client:
    def __init__(self, js: _JetStream) -> None:
        self.js = js

    def jetstream(self) -> _JetStream:
        return self.js


def test_a_fetch_timing_out_either_way_is_idle_not_an_interruption(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def no_stream_setup(js: Any) -> None:
        return None

    monkeypatch.setattr(fanout, "ensure_events_stream", no_stream_setup)
    sub = _IdleSubscription([TimeoutError(), NatsTimeout()])
    js = _JetStream(sub)

    async def scenario() -> None:
        task = asyncio.create_task(fanout.fan_out_forever(_Client(js), None, None))  # type: ignore[arg-type]
        await asyncio.sleep(0.3)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    with caplog.at_level(logging.WARNING, logger="agentplane.webhooks.fanout"):
        asyncio.run(scenario())
    assert not [r for r in caplog.records if "interrupted" in r.getMessage()]
    # Idle fetches go on without a pause, and the subscription is bound afresh after a run
    # of them (an interruption would have slept a second after the first).
    assert sub.fetches > 2 * fanout.REBIND_AFTER_IDLE_FETCHES
    assert js.binds >= 2
