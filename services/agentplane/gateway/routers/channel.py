"""The agent channel over HTTP: discovery, and a WebSocket for agents that cannot reach NATS.

The WebSocket carries exactly what the NATS channel carries (contracts/channel.py): the
gateway subscribes the agent's inbox with its own connection while the socket is open,
forwards each `HubMessage` as a `hub` frame, and turns the agent's `ack` frame into the NATS
reply, so the sender sees the same acknowledgement either way. Several sockets of one agent
all receive (plain subscriptions, not a queue group: a stale socket that has not noticed its
peer went away must not swallow messages); the first ack wins, and the hub's redelivery makes a
lost frame harmless. A plain HTTP GET of the channel URL answers 426 (after the same
authentication), which is also how the endpoint appears in the OpenAPI document.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from uuid import UUID

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from fastapi.responses import JSONResponse
from nats.aio.msg import Msg
from pydantic import BaseModel, ValidationError

from agentplane.bus.requests import BusClient
from agentplane.contracts.channel import (
    AgentHello,
    ChannelAck,
    ChannelAdmission,
    ChannelBeat,
    ChannelFrame,
    CommandResult,
    HubMessage,
    TaskLogLine,
    TaskProgress,
    TaskResult,
)
from agentplane.contracts.diagnostics import ReachResultBody
from agentplane.contracts.errors import ErrorKind, ServiceError, forbidden
from agentplane.contracts.http.channel_info import ChannelInfo
from agentplane.contracts.subjects import AgentChannel
from agentplane.gateway.agent_auth import AgentIdentity, admit_agent
from agentplane.gateway.app_settings import AppSettings
from agentplane.gateway.channel_watch import SAFETY_RECHECK_SECONDS, ChannelWatch
from agentplane.gateway.errors import error_response
from agentplane.settings import GatewaySettings

log = logging.getLogger("agentplane.gateway.channel")
router = APIRouter(tags=["agent channel"])

MAX_FRAME_BYTES = 512 * 1024
# uvicorn refuses bigger messages outright (close 1009) before buffering them; between the two
# limits the agent gets an `error` frame and the socket stays open.
WS_MAX_BYTES = 2 * MAX_FRAME_BYTES
CLOSE_UNAUTHORIZED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_TRY_LATER = 1013
# Frames the gateway publishes for the agent, and the model each must match.
PUBLISHED: dict[str, type[BaseModel] | None] = {
    AgentChannel.RESULT: CommandResult,
    AgentChannel.TASK_PROGRESS: TaskProgress,
    AgentChannel.TASK_LOG: TaskLogLine,
    AgentChannel.TASK_RESULT: TaskResult,
    AgentChannel.REACH_RESULT: ReachResultBody,
}
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing or invalid agent credentials (X-Agent-ID + credential)"},
    503: {"description": "The registry is unavailable; try again"},
}
NOT_AN_UPGRADE = "This is a WebSocket endpoint: connect with an Upgrade: websocket request"


def _without_credentials(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def nats_urls_for_agents(settings: GatewaySettings) -> list[str]:
    configured = settings.agent_nats_url or settings.nats_url or ""
    return [_without_credentials(u.strip()) for u in configured.split(",") if u.strip()]


def websocket_url_for_agents(settings: GatewaySettings) -> str | None:
    if settings.agent_nats_websocket_url:
        return settings.agent_nats_websocket_url
    if settings.nats_websocket_port:
        return f"ws://127.0.0.1:{settings.nats_websocket_port}"
    return None


def channel_info(settings: GatewaySettings, admission: ChannelAdmission) -> ChannelInfo:
    agent_id = str(admission.agent_id)
    return ChannelInfo(
        agent_id=admission.agent_id,
        nats_urls=nats_urls_for_agents(settings),
        nats_websocket_url=websocket_url_for_agents(settings),
        http_channel_url=f"/v1/agents/{agent_id}/channel",
        inbox_subject=AgentChannel.inbox(agent_id),
        reply_inbox_prefix=AgentChannel.reply_inbox_prefix(agent_id),
        publish_prefix=AgentChannel.publish_prefix(agent_id),
        heartbeat_interval_seconds=settings.heartbeat_interval_of(admission.dialect),
    )


@router.get(
    "/v1/agent-channel",
    responses=ERRORS,
    summary="Where this agent's channel connects (agent credentials)",
)
async def discover(agent: AgentIdentity, settings: AppSettings) -> dict[str, Any]:
    return channel_info(settings, agent).model_dump(mode="json", by_alias=True)


def _same_agent(path_id: str, admission: ChannelAdmission) -> bool:
    try:
        return UUID(path_id) == admission.agent_id
    except ValueError:
        return False


@router.get(
    "/v1/agents/{agent_id}/channel",
    status_code=426,
    responses={
        101: {"description": "Switching Protocols: the channel, as JSON `ChannelFrame`s"},
        **ERRORS,
        403: {"description": "The credential belongs to another agent"},
        426: {"description": "A plain GET: the channel needs a WebSocket upgrade"},
    },
    summary="The agent's channel as a WebSocket (agent credentials)",
    description=(
        "Upgrade to a WebSocket with the agent's own credential. Frames are JSON "
        "`{type, data}`: the gateway sends `hub`, `welcome`, `hb`, `error`; the agent sends "
        "`hello`, `ack`, `hb`, `result`, `task.progress`, `task.log`, `task.result`, "
        "`reach.result`. Over the socket, a refused credential closes with 4401, another "
        f"agent's id with 4403. Frames up to {MAX_FRAME_BYTES} bytes."
    ),
)
async def channel_without_upgrade(agent_id: str, agent: AgentIdentity) -> JSONResponse:
    if not _same_agent(agent_id, agent):
        raise forbidden("Agent not authorized for this channel")
    response = error_response(426, NOT_AN_UPGRADE, "upgrade_required")
    response.headers["Upgrade"] = "websocket"
    return response


class SocketChannel:
    """One open WebSocket of one agent: NATS inbox ↔ frames."""

    def __init__(self, ws: WebSocket, bus: BusClient, agent_id: str) -> None:
        self.ws = ws
        self.bus = bus
        self.agent_id = agent_id
        # HubMessage id → the NATS reply subject its ack goes to.
        self.awaiting_ack: dict[str, str] = {}
        self.send_lock = asyncio.Lock()

    async def send(self, frame: ChannelFrame) -> None:
        async with self.send_lock:
            await self.ws.send_text(frame.model_dump_json())

    async def error(self, message: str) -> None:
        await self.send(ChannelFrame(type="error", data={"message": message}))

    async def on_hub_message(self, msg: Msg) -> None:
        try:
            hub = HubMessage.model_validate_json(msg.data)
        except ValidationError:
            log.warning("dropped a malformed hub message for agent %s", self.agent_id)
            return
        if msg.reply:
            if len(self.awaiting_ack) > 10_000:
                self.awaiting_ack.clear()
            self.awaiting_ack[hub.id] = msg.reply
        with contextlib.suppress(Exception):
            await self.send(ChannelFrame(type="hub", data=hub.model_dump(mode="json")))

    async def on_frame(self, raw: str) -> None:
        if len(raw) > MAX_FRAME_BYTES:
            await self.error(f"frame larger than {MAX_FRAME_BYTES} bytes")
            return
        try:
            frame = ChannelFrame.model_validate_json(raw)
        except ValidationError as exc:
            await self.error(f"invalid frame: {exc.errors(include_input=False)[0]['msg']}")
            return
        try:
            await self.dispatch(frame)
        except ValidationError as exc:
            first = exc.errors(include_input=False, include_url=False)[0]
            field = ".".join(str(p) for p in first["loc"])
            await self.error(f"invalid {frame.type}: {field}: {first['msg']}")
        except ServiceError as exc:
            await self.error(exc.body.message)

    async def dispatch(self, frame: ChannelFrame) -> None:
        agent = self.agent_id
        nc = self.bus.nc
        if frame.type == "ack":
            ack = ChannelAck.model_validate(frame.data)
            reply = self.awaiting_ack.pop(ack.message_id, None)
            if reply is not None:
                await nc.publish(reply, ack.model_dump_json().encode())
        elif frame.type == "hello":
            hello = AgentHello.model_validate(frame.data)
            subject = AgentChannel.from_agent(agent, AgentChannel.HELLO)
            welcome = await self.bus.request(subject, hello)
            await self.send(ChannelFrame(type="welcome", data=welcome))
        elif frame.type == "hb":
            beat = ChannelBeat.model_validate(frame.data)
            subject = AgentChannel.from_agent(agent, AgentChannel.HEARTBEAT)
            accepted = await self.bus.request(subject, beat)
            await self.send(ChannelFrame(type="hb", data=accepted))
        elif frame.type in PUBLISHED:
            model = PUBLISHED[frame.type]
            body = (
                model.model_validate(frame.data).model_dump_json()
                if model is not None
                else json.dumps(frame.data)
            )
            await nc.publish(AgentChannel.from_agent(agent, frame.type), body.encode())
        else:
            await self.error(f"agents do not send {frame.type!r} frames")


async def _still_admitted(
    ws: WebSocket, bus: BusClient, wake: asyncio.Event, admission: ChannelAdmission
) -> None:
    """Return when the credential stops working (revoked, rotated away, expired)."""
    while True:
        wait = SAFETY_RECHECK_SECONDS
        if admission.expires_at is not None:
            # A moment past the expiry, so the registry sees it expired too.
            until_expiry = admission.expires_at.timestamp() - time.time() + 0.5
            wait = max(0.1, min(wait, until_expiry))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), wait)
        wake.clear()
        try:
            admission = await admit_agent(bus, ws.headers)
        except ServiceError as exc:
            if exc.kind == ErrorKind.UNAUTHORIZED:
                return


@router.websocket("/v1/agents/{agent_id}/channel")
async def channel(ws: WebSocket, agent_id: str) -> None:
    """The agent's channel as JSON frames (`ChannelFrame`); see the README for an example."""
    bus: BusClient = ws.app.state.bus
    await ws.accept()
    try:
        admission = await admit_agent(bus, ws.headers)
    except ServiceError as exc:
        code = CLOSE_UNAUTHORIZED if exc.kind == ErrorKind.UNAUTHORIZED else CLOSE_TRY_LATER
        await ws.close(code=code, reason=exc.body.message[:120])
        return
    if not _same_agent(agent_id, admission):
        await ws.close(code=CLOSE_FORBIDDEN, reason="Agent not authorized for this channel")
        return
    session = SocketChannel(ws, bus, str(admission.agent_id))
    watch: ChannelWatch = ws.app.state.channel_watch
    await watch.follow(bus.nc)
    wake = watch.watch(session.agent_id)
    sub = await bus.nc.subscribe(AgentChannel.inbox(session.agent_id), cb=session.on_hub_message)
    revoked = asyncio.create_task(_still_admitted(ws, bus, wake, admission))
    try:
        while True:
            receive = asyncio.create_task(ws.receive())
            done, _ = await asyncio.wait({receive, revoked}, return_when=asyncio.FIRST_COMPLETED)
            if revoked in done:
                receive.cancel()
                await ws.close(code=CLOSE_UNAUTHORIZED, reason="Credential no longer valid")
                return
            message = receive.result()
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text")
            if text is None:
                text = (message.get("bytes") or b"").decode("utf-8", errors="replace")
            await session.on_frame(text)
    except WebSocketDisconnect:
        pass
    finally:
        revoked.cancel()
        watch.unwatch(session.agent_id, wake)
        with contextlib.suppress(Exception):
            await sub.unsubscribe()
