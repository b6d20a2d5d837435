"""JetStream streams and consumers, declared once for every service."""

from __future__ import annotations

from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig

from agentplane.contracts.subjects import Events

EVENTS_STREAM = "AP_EVENTS"
DEAD_LETTER_STREAM = "AP_DEADLETTER"
# Redeliveries before a message is parked on the dead-letter subject.
MAX_DELIVER = 5
ACK_WAIT_SECONDS = 30.0


def events_stream_config() -> StreamConfig:
    """The audit trail in global order: kept without limits, deduplicated by Nats-Msg-Id."""
    return StreamConfig(
        name=EVENTS_STREAM,
        subjects=[Events.ALL],
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        discard=DiscardPolicy.OLD,
        duplicate_window=120.0,
    )


def dead_letter_stream_config() -> StreamConfig:
    """Messages that failed MAX_DELIVER times, kept for an operator to inspect."""
    return StreamConfig(
        name=DEAD_LETTER_STREAM,
        subjects=[Events.DEAD_LETTER + ".>"],
        storage=StorageType.FILE,
        max_age=14 * 24 * 3600.0,
    )
