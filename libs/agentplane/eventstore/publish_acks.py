"""JetStream publish acknowledgements of a batch, gathered on one subscription.

nats-py's `publish_async` pays per message for what a batch needs once: a semaphore wait
under `wait_for`, a NUID plus `token_hex` for the reply subject, a Future with a done callback,
a `PubAck` built from stdlib json. The relay needs of a batch only that every message was
stored (or the first error) and the highest stream sequence. Here each message's reply subject
is `<inbox>.<n>` under one subscription of the relay's own, its ack counts its batch down, and
only `seq` and `error` are read from the ack (orjson). One timeout covers the whole batch.
"""

from __future__ import annotations

import asyncio

import orjson
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js.api import Header
from nats.js.errors import APIError, NoStreamResponseError

# The status of a no-responders reply: no stream captures the subject.
_NO_RESPONDERS = "503"

# (subject, body, headers) of one message to publish
Message = tuple[str, bytes, dict[str, str]]


class AckBatch:
    """The acks one batch waits for; `seal()` once every message of it is sent."""

    __slots__ = ("_acks", "_left", "done", "sequence", "subjects")

    def __init__(self, acks: PublishAcks) -> None:
        self._acks = acks
        # One more than the messages out: the batch cannot finish while it is still sending.
        self._left = 1
        self.subjects: list[str] = []
        self.sequence = 0
        self.done: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    def reply(self) -> str:
        """The reply subject of the next message of this batch."""
        self._left += 1
        subject = self._acks.expect(self)
        self.subjects.append(subject)
        return subject

    def seal(self) -> None:
        self._count_down()

    def acked(self, sequence: int) -> None:
        if sequence > self.sequence:
            self.sequence = sequence
        self._count_down()

    def fail(self, exc: Exception) -> None:
        if not self.done.done():
            self.done.set_exception(exc)

    def _count_down(self) -> None:
        self._left -= 1
        if self._left == 0 and not self.done.done():
            self.done.set_result(self.sequence)


class PublishAcks:
    """Reply subjects for JetStream publishes, and the batches their acks count down."""

    def __init__(self, nc: Client) -> None:
        self._nc = nc
        self._prefix = ""
        self._next = 0  # the number of the next reply subject
        self._pending: dict[str, AckBatch] = {}

    async def start(self) -> None:
        """Subscribe the reply inbox (once; nats-py renews it after a reconnect)."""
        if self._prefix:
            return
        inbox = self._nc.new_inbox()
        await self._nc.subscribe(f"{inbox}.*", cb=self._on_ack)
        self._prefix = f"{inbox}."

    def batch(self) -> AckBatch:
        return AckBatch(self)

    def expect(self, batch: AckBatch) -> str:
        subject = f"{self._prefix}{self._next}"
        self._next += 1
        self._pending[subject] = batch
        return subject

    async def publish(self, messages: list[Message], timeout: float) -> int:
        """Publish (subject, body, headers) each, then `wait` for the acks of them all."""
        batch = self.batch()
        try:
            for subject, body, headers in messages:
                await self._nc.publish(subject, body, reply=batch.reply(), headers=headers)
        except BaseException:
            self.forget(batch)  # a NATS outage retried every second must not pile up
            raise
        return await self.wait(batch, timeout)

    async def wait(self, batch: AckBatch, timeout: float) -> int:
        """The highest stream sequence of the batch, once every message of it is stored.

        Raises TimeoutError when an ack is still missing after `timeout` (lost on a reconnect,
        say: the relay then asks the stream what it holds), or the first error acked."""
        batch.seal()
        try:
            async with asyncio.timeout(timeout):
                return await batch.done
        except BaseException:
            self.forget(batch)
            raise

    def forget(self, batch: AckBatch) -> None:
        """Drop what is still out of a failed batch: its late acks are ignored."""
        for subject in batch.subjects:
            self._pending.pop(subject, None)

    async def _on_ack(self, msg: Msg) -> None:
        batch = self._pending.pop(msg.subject, None)
        if batch is None:
            return  # late: its batch gave up waiting
        if msg.headers and msg.headers.get(Header.STATUS) == _NO_RESPONDERS:
            batch.fail(NoStreamResponseError())
            return
        try:
            ack = orjson.loads(msg.data)
            error = ack.get("error")
            if error is not None:
                batch.fail(APIError.from_error(error))
                return
            batch.acked(int(ack["seq"]))
        except Exception as exc:  # a reply that is no ack at all: the batch fails, not the sub
            batch.fail(exc)
