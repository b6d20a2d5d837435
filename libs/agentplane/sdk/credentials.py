"""Credentials an agent presents itself, per call (the client holds the operator's)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from agentplane.contracts.http.timestamps import rfc3339_seconds


@dataclass(frozen=True)
class DeviceCredentials:
    """A seed 003 device agent: its id and API key."""

    agent_id: UUID | str
    api_key: str

    def headers(self) -> dict[str, str]:
        """X-Agent-Key, X-Agent-ID and a fresh X-Request-Timestamp (RFC 3339 UTC)."""
        return {
            "X-Agent-Key": self.api_key,
            "X-Agent-ID": str(self.agent_id),
            "X-Request-Timestamp": rfc3339_seconds(datetime.now(UTC)),
        }

    def __repr__(self) -> str:
        # Keys never end up in logs or tracebacks through a repr.
        return f"DeviceCredentials(agent_id={self.agent_id!s}, api_key=***)"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
