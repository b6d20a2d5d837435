"""Wakes an agent's open channel sockets when the registry records anything about the agent.

A socket re-checks its credential when woken (rotation, revocation, deletion, termination all
are registry events of the agent; a registration changes no credential and wakes nothing),
when its credential expires, and otherwise only every `SAFETY_RECHECK_SECONDS` — the net for
events missed while the gateway was reconnecting. So a revoked credential closes its socket
about as fast as the registry closes its NATS connection, and an idle fleet of sockets costs
the registry almost nothing.
"""

from __future__ import annotations

import asyncio

from nats.aio.client import Client
from nats.aio.msg import Msg

from agentplane.bus.agent_token_cache import agent_of, credential_event_subjects

SAFETY_RECHECK_SECONDS = 30.0


class ChannelWatch:
    """agent id → the wake-up events of its open sockets."""

    def __init__(self) -> None:
        self._sockets: dict[str, set[asyncio.Event]] = {}
        self._following = False

    async def follow(self, nc: Client) -> None:
        """Subscribe to the registry's agent events (once, on the first socket)."""
        if self._following:
            return
        self._following = True
        for subject in credential_event_subjects():
            await nc.subscribe(subject, cb=self._on_event)

    async def _on_event(self, msg: Msg) -> None:
        agent_id = agent_of(msg.data)
        for wake in self._sockets.get(agent_id or "", ()):
            wake.set()

    def watch(self, agent_id: str) -> asyncio.Event:
        wake = asyncio.Event()
        self._sockets.setdefault(agent_id, set()).add(wake)
        return wake

    def unwatch(self, agent_id: str, wake: asyncio.Event) -> None:
        sockets = self._sockets.get(agent_id)
        if sockets is not None:
            sockets.discard(wake)
            if not sockets:
                del self._sockets[agent_id]

    def __len__(self) -> int:
        return sum(len(s) for s in self._sockets.values())
