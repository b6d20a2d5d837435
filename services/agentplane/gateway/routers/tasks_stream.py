"""Seed 002 `WS /api/v1/agents/{id}/task-stream`: tasks pushed to the agent as they come.

Authentication is the agent's own, as on its other seed 002 endpoints (`Authorization: Bearer
<JWT>` on the upgrade request, or its client certificate on the mTLS port). It is checked
right after the upgrade, before anything is sent: no credential (or a refused one) closes the
socket with 4401, another agent's id or the operator's key with 4403, an unreachable registry
with 1013. While open, the credential is checked again when the registry records anything
about the agent (and every 30 s): a revoked or deleted agent is closed with 4401.

Server → agent: `{"type": "task_assigned", "task": {taskId, taskType, payload, credentials,
timeout, priority, createdAt, …}}` — each pending task, highest priority first, then oldest,
leased like a heartbeat's (`timeout` + 5 s) — and `{"type": "task_cancelled", "taskId"}`.
Agent → server: `{"type": "task_progress", "taskId", "progress", "message"}` and
`{"type": "task_log", "taskId", "level", "message"}`, recorded on the task for the operator.
An invalid frame gets `{"type": "error", "message"}` and the socket stays open. Completion is
`POST /api/v1/agents/{id}/tasks/{taskId}/complete`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any
from uuid import UUID

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from fastapi.responses import JSONResponse
from nats.aio.msg import Msg
from pydantic import BaseModel, TypeAdapter, ValidationError

from agentplane.bus.requests import BusClient
from agentplane.contracts.errors import ErrorKind, ServiceError, forbidden
from agentplane.contracts.http.tasks import TaskLogFrame, TaskProgressFrame
from agentplane.contracts.subjects import Messaging
from agentplane.contracts.task_reports import (
    RecordTaskLogs,
    ReportTaskProgress,
    TaskNotice,
    TaskReportAccepted,
)
from agentplane.contracts.tasks import (
    TaskLogInput,
    TaskStatus,
    TaskVia,
)
from agentplane.gateway.channel_watch import SAFETY_RECHECK_SECONDS, ChannelWatch
from agentplane.gateway.errors import error_response
from agentplane.gateway.orchestrator_auth import NOT_AUTHORIZED, Caller, OrchestratorCaller
from agentplane.gateway.orchestrator_auth import orchestrator_caller as authenticate
from agentplane.gateway.routers.tasks_shapes import assignment_json, claim

log = logging.getLogger("agentplane.gateway.task_stream")
router = APIRouter(tags=["tasks (seeds 002 and 003)"])

CLOSE_UNAUTHORIZED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_TRY_LATER = 1013
# A notice can be lost (the gateway was reconnecting): the stream claims this often anyway.
CLAIM_EVERY_SECONDS = 5.0
MAX_FRAME_CHARS = 64 * 1024
AgentFrame = TaskProgressFrame | TaskLogFrame
_FRAMES: TypeAdapter[AgentFrame] = TypeAdapter(AgentFrame)
NOT_AN_UPGRADE = "This is a WebSocket endpoint: connect with an Upgrade: websocket request"


def _close_code(kind: ErrorKind) -> int:
    if kind is ErrorKind.UNAUTHORIZED:
        return CLOSE_UNAUTHORIZED
    if kind is ErrorKind.FORBIDDEN:
        return CLOSE_FORBIDDEN
    return CLOSE_TRY_LATER


def _own(caller: OrchestratorCaller, path_id: str) -> bool:
    try:
        return caller.agent_id is not None and UUID(path_id) == caller.agent_id
    except ValueError:
        return False


@router.get(
    "/api/v1/agents/{agent_id}/task-stream",
    status_code=426,
    responses={
        101: {"description": "Switching Protocols: the task stream (JSON frames)"},
        401: {"description": "Missing or invalid credentials (socket: close 4401)"},
        403: {"description": "Another agent's stream, or the operator (socket: close 4403)"},
        426: {"description": "A plain GET: the task stream needs a WebSocket upgrade"},
    },
    summary="The agent's task stream as a WebSocket (the agent's JWT or certificate)",
    description=__doc__,
)
async def task_stream_without_upgrade(agent_id: str, caller: Caller) -> JSONResponse:
    if not _own(caller, agent_id):
        raise forbidden(NOT_AUTHORIZED)
    response = error_response(426, NOT_AN_UPGRADE, "upgrade_required")
    response.headers["Upgrade"] = "websocket"
    return response


async def _authenticate(ws: WebSocket) -> OrchestratorCaller:
    # Reads only `app` and `headers` (the credential headers too), which sockets have.
    return await authenticate(ws)  # type: ignore[arg-type]


class TaskStream:
    """One open task stream of one agent."""

    def __init__(self, ws: WebSocket, bus: BusClient, caller: OrchestratorCaller) -> None:
        assert caller.agent_id is not None
        self.ws = ws
        self.bus = bus
        self.workspace_id = caller.workspace_id
        self.agent_id = caller.agent_id
        self.wake = asyncio.Event()
        self.lock = asyncio.Lock()

    async def send(self, frame: dict[str, Any]) -> None:
        async with self.lock:
            await self.ws.send_json(frame)

    async def on_notice(self, msg: Msg) -> None:
        try:
            notice = TaskNotice.model_validate_json(msg.data)
        except ValidationError:
            return
        if notice.kind == "cancelled" and notice.task_id:
            with contextlib.suppress(Exception):
                await self.send({"type": "task_cancelled", "taskId": notice.task_id})
        else:
            self.wake.set()

    async def offer_forever(self) -> None:
        """Claim and send pending tasks now, on every notice, and every few seconds."""
        while True:
            try:
                tasks = await claim(self.bus, self.workspace_id, self.agent_id, TaskVia.STREAM)
            except ServiceError as exc:
                log.warning("task stream of %s cannot claim: %s", self.agent_id, exc.body.message)
                tasks = []
            for task in tasks:
                # A send that fails leaves the task leased: it is offered again after its lease.
                await self.send({"type": "task_assigned", "task": assignment_json(task)})
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), CLAIM_EVERY_SECONDS)
            self.wake.clear()

    async def on_frame(self, raw: str) -> None:
        if len(raw) > MAX_FRAME_CHARS:
            await self.send({"type": "error", "message": f"frame over {MAX_FRAME_CHARS} chars"})
            return
        try:
            frame = _FRAMES.validate_json(raw)
        except ValidationError as exc:
            first = exc.errors(include_input=False, include_url=False)[0]
            where = ".".join(str(p) for p in first["loc"]) or "frame"
            await self.send({"type": "error", "message": f"invalid frame: {where}: {first['msg']}"})
            return
        try:
            accepted = await self._record(frame)
        except ServiceError as exc:
            await self.send({"type": "error", "taskId": frame.task_id, "message": exc.body.message})
            return
        if accepted.status is TaskStatus.CANCELLED:
            # The agent still works on a task that was cancelled: tell it again.
            await self.send({"type": "task_cancelled", "taskId": frame.task_id})

    async def _record(self, frame: AgentFrame) -> TaskReportAccepted:
        ids = {"workspace_id": self.workspace_id, "agent_id": self.agent_id,
               "task_id": frame.task_id}  # fmt: skip
        subject: str
        request: BaseModel
        if isinstance(frame, TaskProgressFrame):
            subject = Messaging.TASK_PROGRESS
            request = ReportTaskProgress(**ids, progress=frame.progress, message=frame.message)
        else:
            subject = Messaging.TASK_LOG
            line = TaskLogInput(timestamp=frame.timestamp, level=frame.level, message=frame.message)
            request = RecordTaskLogs(**ids, logs=[line])
        return TaskReportAccepted.model_validate(await self.bus.request(subject, request))


async def _still_authorized(ws: WebSocket, wake: asyncio.Event) -> None:
    """Return when the agent's credential stops working (revoked, agent deleted)."""
    while True:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), SAFETY_RECHECK_SECONDS)
        wake.clear()
        try:
            await _authenticate(ws)
        except ServiceError as exc:
            if exc.kind in (ErrorKind.UNAUTHORIZED, ErrorKind.FORBIDDEN):
                return


@router.websocket("/api/v1/agents/{agent_id}/task-stream")
async def task_stream(ws: WebSocket, agent_id: str) -> None:
    bus: BusClient = ws.app.state.bus
    await ws.accept()
    try:
        caller = await _authenticate(ws)
    except ServiceError as exc:
        await ws.close(code=_close_code(exc.kind), reason=exc.body.message[:120])
        return
    if not _own(caller, agent_id):
        await ws.close(code=CLOSE_FORBIDDEN, reason=NOT_AUTHORIZED)
        return
    stream = TaskStream(ws, bus, caller)
    watch: ChannelWatch = ws.app.state.channel_watch
    await watch.follow(bus.nc)
    recheck = watch.watch(str(stream.agent_id))
    sub = await bus.nc.subscribe(Messaging.task_notices(str(stream.agent_id)), cb=stream.on_notice)
    offers = asyncio.create_task(stream.offer_forever())
    revoked = asyncio.create_task(_still_authorized(ws, recheck))
    try:
        while True:
            receive = asyncio.create_task(ws.receive())
            done, _ = await asyncio.wait(
                {receive, revoked, offers}, return_when=asyncio.FIRST_COMPLETED
            )
            if revoked in done or offers in done:
                receive.cancel()
                reason = "Credential no longer valid" if revoked in done else "stream failed"
                await ws.close(code=CLOSE_UNAUTHORIZED if revoked in done else 1011, reason=reason)
                return
            message = receive.result()
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text")
            if text is None:
                text = (message.get("bytes") or b"").decode("utf-8", errors="replace")
            await stream.on_frame(text)
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        offers.cancel()
        revoked.cancel()
        watch.unwatch(str(stream.agent_id), recheck)
        with contextlib.suppress(Exception):
            await sub.unsubscribe()
