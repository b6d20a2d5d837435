"""How the agent presents itself on its own HTTP calls, per dialect."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from agentplane.agent.state import Identity
from agentplane.sdk import DeviceCredentials


@dataclass(frozen=True)
class BearerAgent:
    """A seed 000 agent presenting itself: `Authorization: Bearer <token>` + `X-Agent-ID`."""

    agent_id: str
    token: str

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "X-Agent-ID": self.agent_id}

    def __repr__(self) -> str:
        return f"BearerAgent(agent_id={self.agent_id}, token=***)"


def agent_credentials(identity: Identity) -> DeviceCredentials:
    """What the SDK signs an agent's own calls with; both kinds only need `headers()`."""
    if identity.dialect == "device":
        return DeviceCredentials(agent_id=identity.agent_id, api_key=identity.credential)
    return cast(DeviceCredentials, BearerAgent(identity.agent_id, identity.credential))
