"""The agent's NATS channel: its own reconnect loop (exponential backoff, full jitter) around
every connect, `hello` on each (re)connect, an ack for each hub message, and an outbox so
results published while disconnected go out after the next connect."""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from nats.aio.client import Client
from nats.aio.msg import Msg
from pydantic import BaseModel, ValidationError

from agentplane.agent.backoff import Backoff
from agentplane.contracts.channel import AgentHello, ChannelAck, ChannelWelcome, HubMessage
from agentplane.contracts.subjects import AgentChannel
from agentplane.nats_connect import connect_verified

log = logging.getLogger("agentplane.agent")

FollowUp = Callable[[], Awaitable[None]] | None
HubHandler = Callable[[HubMessage], Awaitable[tuple[ChannelAck, FollowUp]]]
# A connection that lasted this long was healthy: the next failure starts backoff afresh.
STABLE_SECONDS = 10.0
MAX_OUTBOX = 1000
UNANSWERED_HELLOS = 3
WATCH_SECONDS = 1.0


def parse_welcome(data: bytes) -> ChannelWelcome | None:
    """The hub's answer to hello, bare or in a bus `Reply` envelope."""
    try:
        document = json.loads(data)
    except ValueError:
        return None
    if isinstance(document, dict) and "ok" in document:
        document = document.get("data") if document.get("ok") else None
    try:
        return ChannelWelcome.model_validate(document)
    except ValidationError:
        return None


def _message_id(data: bytes) -> str:
    try:
        found = json.loads(data).get("id")
    except (ValueError, AttributeError):
        found = None
    return str(found)[:100] if found else "unparsable"


class Channel:
    def __init__(
        self,
        agent_id: str,
        urls: Callable[[], list[str]],
        credential: Callable[[], str],
        on_hub: HubHandler,
        hello: Callable[[], AgentHello],
        on_welcome: Callable[[ChannelWelcome], None],
        rediscover: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.agent_id = agent_id
        # Asked after a failed connect: the hub may have moved NATS (a restart on another port).
        self.rediscover = rediscover
        self.urls = urls
        self.credential = credential
        self.on_hub = on_hub
        self.hello = hello
        self.on_welcome = on_welcome
        self.backoff = Backoff(base=0.5, cap=30.0)
        self.hello_backoff = Backoff(base=1.0, cap=30.0)
        self.nc: Client | None = None
        self.connects = 0
        self.outbox: deque[tuple[str, bytes]] = deque(maxlen=MAX_OUTBOX)
        self._closed = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def connected(self) -> bool:
        return self.nc is not None and self.nc.is_connected

    async def _connect(self) -> Client:
        async def closed() -> None:
            self._closed.set()

        async def error(exc: Exception) -> None:
            log.debug("nats: %s", type(exc).__name__)

        # nats-py's own reconnect has a fixed wait; ours backs off with jitter and also
        # covers connect failures (an auth error while the registry restarts).
        return await connect_verified(
            self.urls(),
            user=self.agent_id,
            password=self.credential(),
            name=f"agentplane-agent {self.agent_id}",
            inbox_prefix=AgentChannel.reply_inbox_prefix(self.agent_id),
            allow_reconnect=False,
            # Without this nats-py retries a refused first connect 60 times, 2 s apart.
            max_reconnect_attempts=0,
            connect_timeout=5,
            ping_interval=10,
            max_outstanding_pings=2,
            closed_cb=closed,
            error_cb=error,
        )

    async def run(self) -> None:
        """Stay connected until cancelled."""
        loop = asyncio.get_running_loop()
        while True:
            self._closed.clear()
            started = loop.time()
            try:
                self.nc = await self._connect()
                await self.nc.subscribe(AgentChannel.inbox(self.agent_id), cb=self._on_msg)
                self.connects += 1
                log.info("channel connected (%d)", self.connects)
                hello = asyncio.create_task(self._hello_until_welcomed())
                try:
                    await self._until_closed()
                finally:
                    hello.cancel()
                log.warning("channel disconnected")
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # every failure is retried: the hub may be restarting
                log.warning("channel connect failed: %s: %s", type(exc).__name__, str(exc)[:200])
                if self.rediscover is not None:
                    await self.rediscover()
            finally:
                await self._drop()
            if loop.time() - started > STABLE_SECONDS:
                self.backoff.reset()
            await asyncio.sleep(self.backoff.next_delay())

    async def _until_closed(self) -> None:
        # nats-py may hang in its own close (draining a dead socket) before it calls
        # closed_cb; its status says CLOSED at once, so look at that as well.
        while not self._closed.is_set():
            nc = self.nc
            if nc is None or not nc.is_connected:
                return
            try:
                await asyncio.wait_for(self._closed.wait(), WATCH_SECONDS)
            except TimeoutError:
                pass

    async def _drop(self) -> None:
        nc, self.nc = self.nc, None
        if nc is not None and not nc.is_closed:
            try:
                await asyncio.wait_for(nc.close(), timeout=1.0)
            except (TimeoutError, Exception):
                pass

    async def _hello_until_welcomed(self) -> None:
        """Hello on this connection until the hub answers (it may start after NATS)."""
        self.hello_backoff.reset()
        attempts = 0
        while not await self._hello():
            attempts += 1
            if attempts == UNANSWERED_HELLOS:
                # No hub answers hello (an older hub): what waited goes out anyway.
                await self._flush_outbox()
            await asyncio.sleep(max(0.2, self.hello_backoff.next_delay()))
        # The welcome proves the hub listens: results kept while disconnected go out now.
        await self._flush_outbox()

    async def _hello(self) -> bool:
        nc = self.nc
        if nc is None:
            return False
        subject = AgentChannel.from_agent(self.agent_id, AgentChannel.HELLO)
        try:
            reply = await nc.request(subject, self.hello().model_dump_json().encode(), timeout=5.0)
        except Exception as exc:  # the messaging service may not run yet: work on
            log.info("hello not answered: %s", type(exc).__name__)
            return False
        welcome = parse_welcome(reply.data)
        if welcome is not None:
            self.on_welcome(welcome)
        return True

    async def _on_msg(self, msg: Msg) -> None:
        try:
            message = HubMessage.model_validate_json(msg.data)
        except ValidationError as exc:
            ack = ChannelAck(
                message_id=_message_id(msg.data), accepted=False, error=f"invalid: {exc}"[:1000]
            )
            follow_up: FollowUp = None
        else:
            ack, follow_up = await self.on_hub(message)
        if msg.reply:
            await msg.respond(ack.model_dump_json().encode())
        if follow_up is not None:
            task = asyncio.create_task(follow_up())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def publish(self, kind: str, model: BaseModel) -> None:
        subject = AgentChannel.from_agent(self.agent_id, kind)
        data = model.model_dump_json().encode()
        nc = self.nc
        if nc is not None and nc.is_connected:
            try:
                await nc.publish(subject, data)
                return
            except Exception as exc:
                log.warning("publish failed, kept for later: %s", type(exc).__name__)
        self.outbox.append((subject, data))

    async def _flush_outbox(self) -> None:
        nc = self.nc
        while self.outbox and nc is not None and nc.is_connected:
            subject, data = self.outbox[0]
            await nc.publish(subject, data)
            self.outbox.popleft()

    async def flush(self, timeout: float = 1.0) -> None:
        if self.nc is not None and self.nc.is_connected:
            try:
                await self.nc.flush(timeout=timeout)
            except Exception as exc:
                log.warning("flush failed: %s", type(exc).__name__)

    async def reconnect(self) -> None:
        """Drop the connection (e.g. a rotated credential); the loop connects afresh."""
        self.backoff.reset()
        await self._drop()
        self._closed.set()

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await self._drop()

    def describe(self) -> dict[str, Any]:
        return {"connected": self.connected, "connects": self.connects}
