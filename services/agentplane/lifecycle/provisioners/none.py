"""`AGENTPLANE_PROVISIONER=none`: nothing is deployed, and the answers say exactly that."""

from __future__ import annotations

from uuid import UUID

from agentplane.contracts.pap import PapResources
from agentplane.lifecycle.provisioners.port import Outcome


class NoProvisioner:
    name = "none"

    def deploy(
        self,
        agent_id: UUID,
        agent_name: str,
        api_key: str | None = None,
        image: str | None = None,
        resources: PapResources | None = None,
    ) -> Outcome:
        return Outcome(
            False,
            f"Agent {agent_name} created; nothing was deployed (no provisioner is configured: "
            "AGENTPLANE_PROVISIONER=none)",
        )

    def remove(self, agent_id: UUID, agent_name: str) -> Outcome:
        return Outcome(False, f"Agent {agent_name} had no deployed resources; nothing to delete")
