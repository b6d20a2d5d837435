"""The telemetry channel: heartbeat bodies and metrics in the capped AP_TELEMETRY stream.

Heartbeat bodies are plain core-NATS publishes to `ap.telemetry.<kind>.<agent_id>`: the stream
stores them and nobody waits for an acknowledgement, so telemetry can never hold up a
heartbeat. Reports the gateway takes (seed 004 metrics, `RecordTelemetry`) wait for the
stream's acknowledgement, so the details read right after include them.
Reads use JetStream's batched direct get (no consumer is created): every message of the
agent's subject (at most the per-agent cap), of which the newest `limit` are returned.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime
from typing import Any

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import Error as NatsError
from nats.js.errors import NotFoundError

from agentplane.contracts.errors import unavailable
from agentplane.contracts.liveness import (
    RecordTelemetry,
    TelemetryEntry,
    TelemetryList,
    TelemetryQuery,
    TelemetryRecorded,
)
from agentplane.contracts.streams import (
    TELEMETRY_PER_AGENT,
    TELEMETRY_STREAM,
    telemetry_stream_config,
)
from agentplane.contracts.subjects import Telemetry

log = logging.getLogger("agentplane.heartbeat.telemetry")

_DIRECT_GET = f"$JS.API.DIRECT.GET.{TELEMETRY_STREAM}"


async def ensure_telemetry_stream(nc: Client) -> None:
    """Create the stream, or bring an existing one to the declared limits."""
    js = nc.jetstream()
    config = telemetry_stream_config()
    try:
        await js.stream_info(config.name)
    except NotFoundError:
        try:
            await js.add_stream(config)
            return
        except Exception:  # another replica created it at the same moment
            await js.stream_info(config.name)
    await js.update_stream(config)


def _received_at(msg: Msg) -> datetime:
    stamp = (msg.headers or {}).get("Nats-Time-Stamp", "")
    if stamp:
        # RFC 3339 with nanoseconds; microseconds are plenty.
        head, _, frac = stamp.rstrip("Z").partition(".")
        digits = (frac + "000000")[:6]
        return datetime.fromisoformat(f"{head}.{digits}").replace(tzinfo=UTC)
    return datetime.now(UTC)


def _data(raw: bytes) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except ValueError:
        return {"raw": raw.decode(errors="replace")}
    return value if isinstance(value, dict) else {"value": value}


async def record_telemetry(nc: Client, cmd: RecordTelemetry, timeout: float) -> TelemetryRecorded:
    """Store one message on the agent's channel of `cmd.kind`, acknowledged by the stream."""
    try:
        ack = await nc.jetstream().publish(
            Telemetry.subject(cmd.kind, str(cmd.agent_id)),
            json.dumps(cmd.data).encode(),
            timeout=timeout,
        )
    except (NatsError, TimeoutError):
        raise unavailable("telemetry channel is unavailable, try again") from None
    return TelemetryRecorded(sequence=ack.seq)


async def recent_telemetry(
    nc: Client, query: TelemetryQuery, timeout: float = 5.0
) -> TelemetryList:
    """The newest `query.limit` messages of one agent and kind, newest first."""
    subject = Telemetry.subject(query.kind, str(query.agent_id))
    inbox = nc.new_inbox()
    messages: list[Msg] = []
    done = asyncio.get_running_loop().create_future()

    async def collect(msg: Msg) -> None:
        # Data messages carry the stored subject; a status message (204 EOB, 404 none,
        # 408 …) ends the batch.
        if msg.headers and "Status" in msg.headers and not msg.data:
            if not done.done():
                done.set_result(msg.headers.get("Status"))
            return
        messages.append(msg)

    sub = await nc.subscribe(inbox, cb=collect)
    try:
        request = {"seq": 0, "next_by_subj": subject, "batch": TELEMETRY_PER_AGENT}
        await nc.publish(_DIRECT_GET, json.dumps(request).encode(), reply=inbox)
        try:
            status = await asyncio.wait_for(done, timeout)
        except TimeoutError:
            raise unavailable("telemetry stream did not answer in time") from None
    finally:
        await sub.unsubscribe()
    if status not in ("204", "404"):
        log.warning("direct get of %s ended with status %s", subject, status)
    newest = messages[-query.limit :]
    newest.reverse()
    return TelemetryList(
        entries=[
            TelemetryEntry(
                sequence=int((m.headers or {}).get("Nats-Sequence", 0)),
                received_at=_received_at(m),
                data=_data(m.data),
            )
            for m in newest
        ],
        total=len(messages),
    )
