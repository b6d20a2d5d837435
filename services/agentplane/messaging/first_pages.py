"""An agent's first delivery page, read ahead in the thread that recorded its new command."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agentplane.messaging.application import Position


@dataclass(frozen=True)
class FirstPage:
    """What a delivery's first read of the agent's queue would return (one item), read in the
    thread that recorded a command: one thread hop less before the agent has it. Valid while
    no delivery to the agent ran since `generation` (`Deliverer.first_page_generation`)."""

    generation: int
    commands: list[dict[str, Any]]
    after: Position | None
