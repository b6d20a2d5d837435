"""The agent channel's question to the registry: may this agent connect.

The HTTP channel admits agents with the same checks as the NATS auth callout.
"""

from __future__ import annotations

from agentplane.contracts.channel import AdmitChannelAgent, ChannelAdmission
from agentplane.contracts.errors import unauthorized
from agentplane.registry.nats_auth.admission import NatsAdmission, NotAdmitted
from agentplane.registry.nats_auth.callout import AuthRequest

INVALID = "Invalid agent credentials"


class ChannelAdmissions:
    def __init__(self, admission: NatsAdmission) -> None:
        self.admission = admission

    def admit(self, cmd: AdmitChannelAgent) -> tuple[ChannelAdmission, int]:
        """A command: a rotated device key's first use completes its rotation (a write)."""
        request = AuthRequest(
            server_id="", user_nkey="", user=str(cmd.agent_id), password=cmd.credential
        )
        try:
            admitted, position = self.admission.admit(request)
        except NotAdmitted:
            # One answer for every failure: which part was wrong is not revealed.
            raise unauthorized(INVALID) from None
        result = ChannelAdmission(
            agent_id=cmd.agent_id, dialect=admitted.dialect, expires_at=admitted.expires_at
        )
        return result, position
