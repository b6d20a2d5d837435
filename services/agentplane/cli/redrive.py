"""`agentplane events redrive`: hand parked messages back to the consumers that gave up on them.

Each dead letter (AP_DEADLETTER, `ap.deadletter.<durable>`) is sent to its consumer's replicas
(`ap.redrive.<durable>`), which run it through the same handler with its original stream
sequence. A dead letter the handler processed is deleted; one that fails again stays parked
and is reported. `--list` only shows what is parked.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import IO

import nats
from nats.aio.client import Client
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from agentplane.bus.requests import BusClient
from agentplane.contracts.dead_letters import RedriveDeadLetter
from agentplane.contracts.errors import ServiceError
from agentplane.contracts.streams import DEAD_LETTER_STREAM, DeadLetterHeaders
from agentplane.contracts.subjects import Events
from agentplane.security.nats_credentials import ClientCredential

# A redriven message may wait for a slow handler (a store catching up): generous.
REDRIVE_TIMEOUT_SECONDS = 30.0


@dataclass
class RedriveReport:
    parked: int = 0
    redriven: int = 0
    failed: int = 0
    by_consumer: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class DeadLetter:
    position: int  # its sequence in AP_DEADLETTER
    durable: str
    stream: str
    sequence: int
    subject: str
    error: str
    body: bytes

    def describe(self) -> dict[str, object]:
        return {
            "consumer": self.durable,
            "stream": self.stream,
            "sequence": self.sequence,
            "subject": self.subject,
            "error": self.error,
        }


async def parked(nc: Client, consumer: str | None) -> list[DeadLetter]:
    """Every dead letter (of one consumer, or of all), oldest first."""
    js = nc.jetstream()
    try:
        info = await js.stream_info(DEAD_LETTER_STREAM)
    except NotFoundError:
        return []
    if info.state.messages == 0:
        return []
    subject = Events.dead_letter_of(consumer) if consumer else f"{Events.DEAD_LETTER}.>"
    sub = await js.pull_subscribe(
        subject,
        stream=DEAD_LETTER_STREAM,
        config=ConsumerConfig(
            deliver_policy=DeliverPolicy.ALL, ack_policy=AckPolicy.NONE, inactive_threshold=30.0
        ),
    )
    letters: list[DeadLetter] = []
    try:
        while True:
            try:
                batch = await sub.fetch(500, timeout=2)
            except TimeoutError:  # nats-py's own, or a bare asyncio one: nothing more
                break
            for msg in batch:
                headers = msg.headers or {}
                letters.append(
                    DeadLetter(
                        position=msg.metadata.sequence.stream,
                        durable=Events.durable_of_dead_letter(msg.subject),
                        stream=headers.get(DeadLetterHeaders.STREAM, ""),
                        sequence=int(headers.get(DeadLetterHeaders.SEQUENCE, "0")),
                        subject=headers.get(DeadLetterHeaders.SUBJECT, ""),
                        error=headers.get(DeadLetterHeaders.ERROR, ""),
                        body=msg.data or b"",
                    )
                )
            if not batch or batch[-1].metadata.num_pending == 0:
                break
    finally:
        await sub.unsubscribe()
    return letters


async def redrive(
    url: str, credential: ClientCredential, consumer: str | None, list_only: bool, out: IO[str]
) -> RedriveReport:
    nc = await nats.connect(
        url.split(","),
        user=credential.user,
        password=credential.password,
        connect_timeout=5,
        allow_reconnect=False,
    )
    report = RedriveReport()
    try:
        bus = BusClient(nc, REDRIVE_TIMEOUT_SECONDS)
        js = nc.jetstream()
        for letter in await parked(nc, consumer):
            report.parked += 1
            report.by_consumer[letter.durable] = report.by_consumer.get(letter.durable, 0) + 1
            line = letter.describe()
            if list_only:
                out.write(json.dumps(line) + "\n")
                continue
            try:
                await bus.request(
                    Events.redrive(letter.durable),
                    RedriveDeadLetter(
                        stream=letter.stream,
                        sequence=letter.sequence,
                        body=base64.b64encode(letter.body).decode(),
                    ),
                )
            except ServiceError as exc:
                report.failed += 1
                out.write(json.dumps({**line, "result": "failed", "reason": str(exc)}) + "\n")
                continue
            await js.delete_msg(DEAD_LETTER_STREAM, letter.position)
            report.redriven += 1
            out.write(json.dumps({**line, "result": "redriven"}) + "\n")
    finally:
        await nc.close()
    return report
