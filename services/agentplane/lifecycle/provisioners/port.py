"""The provisioner port: deploy and remove an agent's resources, and say what really happened."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from agentplane.contracts.pap import PapResources


@dataclass(frozen=True)
class Outcome:
    """What the provisioner did: `done` False when nothing was deployed or removed; `forced`
    when removing took a kill because the agent did not drain."""

    done: bool
    message: str
    forced: bool = False


class Provisioner(Protocol):
    name: str

    def deploy(
        self,
        agent_id: UUID,
        agent_name: str,
        api_key: str | None = None,
        image: str | None = None,
        resources: PapResources | None = None,
    ) -> Outcome: ...

    def remove(self, agent_id: UUID, agent_name: str) -> Outcome: ...
