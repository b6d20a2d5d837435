"""Is a credential recorded on an agent (an orchestrator JWT's `jti`, a certificate serial)
still good: the rules every use of one is checked against."""

from __future__ import annotations

from datetime import datetime

from agentplane.registry.domain.agent import Agent


def credential_live(agent: Agent, kind: str, credential_id: str, now: datetime) -> bool:
    """The credential was issued to this agent, is unexpired, and nothing revoked it."""
    if agent.deleted or not agent.credential_usable(now):
        return False
    credential = agent.credentials.get(credential_id)
    if credential is None or credential["kind"] != kind or credential["revoked"]:
        return False
    expires_at: datetime | None = credential["expires_at"]
    return expires_at is None or now < expires_at
