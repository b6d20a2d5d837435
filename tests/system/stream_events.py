"""The integration events a running system's stream holds, read back by subject."""

from __future__ import annotations

from nats.js.errors import NotFoundError

from agentplane.contracts.events import IntegrationEvent
from agentplane.contracts.streams import EVENTS_STREAM
from agentplane.testing.system import RunningSystem


async def stream_events(system: RunningSystem, subject: str) -> list[tuple[int, IntegrationEvent]]:
    """(stream sequence, event) of every event on `subject` (wildcards allowed) so far."""
    nc = await system.nats_connect(name="test-stream-events")
    try:
        js = nc.jetstream()
        last = (await js.stream_info(EVENTS_STREAM)).state.last_seq
        found: list[tuple[int, IntegrationEvent]] = []
        seq = 0
        while seq < last:
            try:
                msg = await js.get_msg(EVENTS_STREAM, seq=seq + 1, subject=subject, next=True)
            except NotFoundError:
                break
            seq = msg.seq
            found.append((seq, IntegrationEvent.model_validate_json(msg.data)))
        return found
    finally:
        await nc.close()
