"""A workspace with two provisioned agents: what the kill tests send messages or commands to."""

from __future__ import annotations

import httpx

from agentplane.testing.plugin import create_workspace
from agentplane.testing.system import RunningSystem


def workspace_with_two_agents(system: RunningSystem) -> tuple[str, str, str]:
    """(the workspace's API key, one agent id, another agent id)."""
    with httpx.Client(base_url=system.base_url, timeout=30) as http:
        ws = create_workspace(http, system.admin_token, tier="enterprise")
        key = {"x-api-key": ws["apiKey"]}
        ids = [
            http.post("/v1/agents/provision", json={"clientType": "cursor"}, headers=key).json()[
                "agentId"
            ]
            for _ in range(2)
        ]
    return ws["apiKey"], ids[0], ids[1]
