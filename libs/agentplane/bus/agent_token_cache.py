"""Agent tokens recently verified, so a caller can skip the round trip for repeat heartbeats.

For the gateway's seed 000 heartbeat: the first beat of a token goes through request/reply
(`Heartbeat.BEAT`, which the heartbeat service answers from its own cache or the registry);
after a success the token is remembered, and later beats are answered at once and published
to the agent's NATS-native subject without waiting (the heartbeat service checks the token
again against its own cache, so this cache only saves the wait, never grants anything).

Trust ends when the registry publishes any event of the agent but its registration (rotation,
revocation, …),
for everyone when the NATS connection was re-established (events may have been missed),
and after `ttl` seconds in any case. Only a keyed hash of each token is kept.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from collections.abc import Callable

from nats.aio.client import Client
from nats.aio.msg import Msg

from agentplane.contracts.events import registry as registry_events
from agentplane.contracts.events.event_types import EVENT_TYPES
from agentplane.contracts.subjects import Events

# Every change the registry records about an agent (credential or not) invalidates.
REGISTRY_AGENT_EVENTS = Events.subject("registry", "agent.>")
# ... but a registration: it is an agent's first event, or completes a provisioned agent's
# with the very token it was provisioned with, so no credential trusted before it changes.
# Left out because a storm of registrations would otherwise reach every follower (a delivery
# and a parse in each gateway, per registration) for nothing.
KEEPS_CREDENTIALS = frozenset({registry_events.AgentRegistered.TYPE})


def credential_event_subjects() -> list[str]:
    """The subjects of every registry agent event type but `KEEPS_CREDENTIALS`: a type added
    to the contracts later is followed without a change here."""
    types = [
        model.TYPE
        for model in EVENT_TYPES.models()
        if model.__module__ == registry_events.__name__ and model.TYPE.startswith("agent.")
    ]
    return [Events.subject("registry", t) for t in types if t not in KEEPS_CREDENTIALS]


# `IntegrationEvent` JSON as the relay encodes it: its envelope fields in declaration order,
# so the first `"agent_id":` is the envelope's (`data`, which may name agents too, is last).
_ENVELOPE_AGENT = re.compile(
    rb'"aggregate_id":"([^"\\]*)".*?"agent_id":(?:null|"([^"\\]*)"),"data":'
)


def agent_of(data: bytes) -> str | None:
    """The agent an integration event (`IntegrationEvent` JSON) concerns.

    Every subscriber of the registry's events asks this of every event: the envelope is
    matched without decoding the whole event, and decoded only when it has another form.
    """
    found = _ENVELOPE_AGENT.search(data)
    if found is not None:
        return (found.group(2) or found.group(1)).decode()
    try:
        event = json.loads(data)
        agent_id = event.get("agent_id") or event.get("aggregate_id")
    except (ValueError, AttributeError):
        return None
    return agent_id if isinstance(agent_id, str) else None


class AgentTokenCache:
    """agent id -> (token tag, trusted until); bounded, cleared when full."""

    def __init__(
        self,
        ttl: float = 30.0,
        max_entries: int = 1_000_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self.clock = clock
        self._key = os.urandom(32)
        self._trusted: dict[str, tuple[bytes, float]] = {}
        # Bumped by every invalidation; a verification that overlapped one is not remembered.
        self.generation = 0
        self._nc: Client | None = None
        self._reconnects = 0

    def _tag(self, token: str) -> bytes:
        return hashlib.blake2b(token.encode(), digest_size=16, key=self._key).digest()

    def trusted(self, agent_id: str, token: str) -> bool:
        if self._nc is not None and self._nc.stats["reconnects"] != self._reconnects:
            self._reconnects = self._nc.stats["reconnects"]
            self.clear()
        entry = self._trusted.get(agent_id)
        return entry is not None and entry[1] > self.clock() and entry[0] == self._tag(token)

    def remember(self, agent_id: str, token: str, generation: int) -> None:
        """Trust `token` after a successful verification that started at `generation`."""
        if generation != self.generation:
            return
        if len(self._trusted) >= self.max_entries:
            self._trusted.clear()
        self._trusted[agent_id] = (self._tag(token), self.clock() + self.ttl)

    def forget(self, agent_id: str) -> None:
        self.generation += 1
        self._trusted.pop(agent_id, None)

    def clear(self) -> None:
        self.generation += 1
        self._trusted.clear()

    async def follow(self, nc: Client) -> None:
        """Invalidate on the registry's agent events from now on."""
        self._nc = nc
        self._reconnects = nc.stats["reconnects"]

        async def on_event(msg: Msg) -> None:
            agent_id = agent_of(msg.data)
            if agent_id is not None:
                self.forget(agent_id)

        for subject in credential_event_subjects():
            await nc.subscribe(subject, cb=on_event)
        await nc.flush()
