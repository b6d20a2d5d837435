"""JetStream streams and consumers, declared once for every service."""

from __future__ import annotations

from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig

from agentplane.contracts.subjects import Events, Telemetry

EVENTS_STREAM = "AP_EVENTS"
DEAD_LETTER_STREAM = "AP_DEADLETTER"
TELEMETRY_STREAM = "AP_TELEMETRY"
# Messages kept per agent and kind (`ap.telemetry.<kind>.<agent_id>`).
TELEMETRY_PER_AGENT = 1000
# How long a failed message waits before each retry (seconds): exponential from 1 s, capped
# at 2 min, 607 s in all, so a database hiccup or a restarting dependency of up to ten
# minutes costs no event. After the last retry fails it is parked on the dead letter.
RETRY_BACKOFF_SECONDS: tuple[float, ...] = (1, 2, 4, 8, 16, 32, 64, 120, 120, 120, 120)
# Deliveries before a message is parked on the dead-letter subject: the first and each retry.
MAX_DELIVER = len(RETRY_BACKOFF_SECONDS) + 1
# A handler that neither acknowledges nor fails in this time (a crashed process) gets the
# message again; the server's max-deliveries advisory parks it after MAX_DELIVER of those.
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
    """Messages that failed MAX_DELIVER times, kept for an operator to inspect and redrive.

    Subject `ap.deadletter.<durable>`; headers name the original stream, sequence and subject
    (`DeadLetterHeaders`).
    """
    return StreamConfig(
        name=DEAD_LETTER_STREAM,
        subjects=[Events.DEAD_LETTER + ".>"],
        storage=StorageType.FILE,
        max_age=14 * 24 * 3600.0,
    )


def telemetry_stream_config() -> StreamConfig:
    """Heartbeat bodies and metrics: capped per agent, oldest dropped, off the control path.

    `max_bytes` bounds the whole channel (a fleet of a million agents times 1,000 messages
    would not fit a disk); a week is more history than any view asks for. Direct gets let any
    replica read an agent's recent messages without creating a consumer.
    """
    return StreamConfig(
        name=TELEMETRY_STREAM,
        subjects=[Telemetry.ALL],
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        discard=DiscardPolicy.OLD,
        max_msgs_per_subject=TELEMETRY_PER_AGENT,
        max_bytes=4 * 1024**3,
        max_age=7 * 24 * 3600.0,
        allow_direct=True,
    )


class DeadLetterHeaders:
    """Headers of a parked message: where it came from, so a redrive can hand it back."""

    STREAM = "Agentplane-Stream"
    SEQUENCE = "Agentplane-Stream-Seq"
    SUBJECT = "Agentplane-Subject"
    ERROR = "Agentplane-Error"
