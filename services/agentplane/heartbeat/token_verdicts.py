"""Asking the registry about a token not yet trusted: the beats held meanwhile, the verdict."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from agentplane.bus.requests import BusClient
from agentplane.contracts.agents import AuthenticateAgent
from agentplane.contracts.errors import ErrorKind, ServiceError
from agentplane.contracts.subjects import Registry
from agentplane.heartbeat.credentials import Tag

log = logging.getLogger("agentplane.heartbeat.intake")

# Answers that say the token is bad; any other failure says nothing about it.
_REJECTED_KINDS = (ErrorKind.UNAUTHORIZED, ErrorKind.VALIDATION, ErrorKind.NOT_FOUND)
# Beats of one agent and token held while the registry is asked; more are turned away.
MAX_WAITING_PER_TOKEN = 64
# How long a token whose trust lapsed stays trusted while the registry cannot answer.
STALE_TRUST_SECONDS = 10.0


@dataclass(slots=True)
class WaitingBeat:
    """A beat held until the registry answers for its token."""

    now: float
    offline_after: float | None
    telemetry: bytes | None
    reply: str
    record: bool


class HeldBeats:
    """Beats held per agent and token while the registry is asked: at most `max_tokens`
    tokens asked about at once, `MAX_WAITING_PER_TOKEN` beats behind each."""

    def __init__(self, max_tokens: int) -> None:
        self.max_tokens = max_tokens
        self.by_token: dict[tuple[str, Tag], list[WaitingBeat]] = {}

    def hold(self, agent_id: str, tag: Tag, beat: WaitingBeat) -> bool | None:
        """True: the first beat of its token (ask the registry); False: it waits behind that
        one; None: no room (an agent beating this fast while we ask is not waited for)."""
        key = (agent_id, tag)
        waiting = self.by_token.get(key)
        if waiting is not None:
            if len(waiting) < MAX_WAITING_PER_TOKEN:
                waiting.append(beat)
                return False
            return None
        if len(self.by_token) >= self.max_tokens:
            return None
        self.by_token[key] = [beat]
        return True

    def release(self, agent_id: str, tag: Tag) -> list[WaitingBeat]:
        """The beats that waited for the answer about this token, in arrival order."""
        return self.by_token.pop((agent_id, tag), [])


async def ask_registry(
    bus: BusClient, agent_id: str, token: str
) -> tuple[bool | None, float | None]:
    """True (with the token's expiry, if any) or False; None when the registry cannot say."""
    try:
        identity = await bus.request(
            Registry.AGENT_AUTHENTICATE,
            AuthenticateAgent(agent_id=UUID(agent_id), token=token),
        )
        expires = identity.get("token_expires_at")
        return True, (datetime.fromisoformat(expires).timestamp() if expires else None)
    except ServiceError as exc:
        return (False if exc.kind in _REJECTED_KINDS else None), None
    except Exception:
        log.exception("checking the credentials of %s failed", agent_id)
        return None, None
