"""Wire models of the agent channel: what the hub sends an agent and what the agent answers.

Delivery is at least once: every `HubMessage` has an id, the agent acknowledges it (the reply
to the request on `ap.inbox.<agent_id>`, or an `ack` frame over the HTTP channel) and treats a
repeated id as already handled. Subjects are in `subjects.AgentChannel`.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from agentplane.contracts.diagnostics import ReachRequestBody
from agentplane.contracts.tunnels import TunnelOpenBody

# Bounds that keep one channel message small (a NATS message, one WebSocket frame).
MAX_PARAMS_BYTES = 64 * 1024
MAX_RESULT_BYTES = 256 * 1024


class HubKind(StrEnum):
    """What a hub → agent message asks of the agent."""

    COMMAND = "command"
    MESSAGE = "message"
    TASK_OFFER = "task.offer"
    TASK_CANCEL = "task.cancel"
    REACH_REQUEST = "reach.request"
    TUNNEL_OPEN = "tunnel.open"
    DRAIN = "drain"
    CONFIG = "config"


class HubMessage(BaseModel):
    """One hub → agent message; `body` is the model named by `kind` (see `BODY_MODELS`)."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(min_length=1, max_length=100)
    kind: HubKind
    sent_at: datetime
    body: dict[str, Any]


class ChannelAck(BaseModel):
    """The agent received (and durably noted) a hub message; repeats are harmless."""

    model_config = ConfigDict(frozen=True)

    message_id: str = Field(min_length=1, max_length=100)
    # False when the agent refuses the message outright (unknown kind, invalid body).
    accepted: bool = True
    error: str | None = Field(default=None, max_length=1000)


class CommandAction(StrEnum):
    """Seed 000 remote command actions."""

    RESTART = "restart"
    STOP = "stop"
    EXPOSE = "expose"
    REACH = "reach"
    STATUS = "status"


class CommandBody(BaseModel):
    """Body of a `command` hub message."""

    model_config = ConfigDict(frozen=True)

    command_id: str
    action: CommandAction
    params: dict[str, Any] = Field(default_factory=dict)
    expires_at: datetime


class ConfigBody(BaseModel):
    """Body of a `config` hub message: settings the hub dictates (e.g. the beat interval)."""

    model_config = ConfigDict(frozen=True)

    heartbeat_interval_seconds: float = Field(gt=0)


class DrainBody(BaseModel):
    """Body of a `drain` hub message: finish running work, accept no new work."""

    model_config = ConfigDict(frozen=True)

    reason: str = Field(default="", max_length=500)


class AgentHello(BaseModel):
    """Sent by an agent when its channel (re)connects: the hub answers and resends pending."""

    model_config = ConfigDict(frozen=True)

    agent_version: str = Field(default="", max_length=64)
    process_start_time: datetime | None = None
    # HubMessage ids the agent already handled (bounded): the hub need not resend them.
    seen: list[str] = Field(default_factory=list, max_length=1000)
    # What the agent offers (`agentplane agent run --capability …`), for the hub to record.
    capabilities: list[str] = Field(default_factory=list, max_length=100)


class ChannelWelcome(BaseModel):
    """The hub's answer to `AgentHello`: what the agent must know to work."""

    model_config = ConfigDict(frozen=True)

    agent_id: UUID
    heartbeat_interval_seconds: float
    pending: int = 0


class ChannelBeat(BaseModel):
    """A heartbeat over the authenticated channel (identity is the subject's agent id)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    status: str = Field(default="idle", max_length=32)
    system: dict[str, Any] = Field(default_factory=dict)


class CommandOutcome(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class CommandResult(BaseModel):
    """The end of a command on the agent: its outcome and what it returned."""

    model_config = ConfigDict(frozen=True)

    command_id: str = Field(min_length=1, max_length=100)
    outcome: CommandOutcome
    result: dict[str, Any] = Field(default_factory=dict)
    error: str | None = Field(default=None, max_length=4000)
    finished_at: datetime


class ChannelFrame(BaseModel):
    """A frame of the HTTP (WebSocket) channel: the same messages as on NATS, tagged.

    hub → agent: `hub` (a HubMessage), `welcome` (answer to `hello`), `hb` (answer to `hb`:
    BeatAccepted), `error`. agent → hub: `hello`, `ack` (ChannelAck), `result`
    (CommandResult), `hb` (ChannelBeat), and the task and reach kinds of `AgentChannel`.
    """

    model_config = ConfigDict(frozen=True)

    type: Literal[
        "hub",
        "ack",
        "result",
        "hello",
        "welcome",
        "error",
        "hb",
        "task.progress",
        "task.log",
        "task.result",
        "reach.result",
    ]
    data: dict[str, Any] = Field(default_factory=dict)


class TaskOfferBody(BaseModel):
    """Body of a `task.offer` hub message: run `payload` with the executor named `task_type`."""

    model_config = ConfigDict(frozen=True)

    task_id: str = Field(min_length=1, max_length=100)
    task_type: str = Field(min_length=1, max_length=64)
    payload: dict[str, Any] = Field(default_factory=dict)
    timeout_seconds: float | None = Field(default=None, gt=0)


class TaskCancelBody(BaseModel):
    """Body of a `task.cancel` hub message: stop the task if it still runs."""

    model_config = ConfigDict(frozen=True)

    task_id: str = Field(min_length=1, max_length=100)


class TaskProgress(BaseModel):
    """A running task's progress (`ap.agent.<id>.task.progress`): accepted, started, percent."""

    model_config = ConfigDict(frozen=True)

    task_id: str = Field(min_length=1, max_length=100)
    state: Literal["accepted", "running"]
    percent: float | None = Field(default=None, ge=0, le=100)
    at: datetime


class TaskLogLine(BaseModel):
    """One output line of a running task (`ap.agent.<id>.task.log`); `seq` orders them."""

    model_config = ConfigDict(frozen=True)

    task_id: str = Field(min_length=1, max_length=100)
    seq: int = Field(ge=0)
    stream: Literal["stdout", "stderr"]
    line: str = Field(max_length=8192)
    at: datetime


class TaskOutcome(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    TIMED_OUT = "timed_out"


class TaskResult(BaseModel):
    """The end of a task on the agent (`ap.agent.<id>.task.result`)."""

    model_config = ConfigDict(frozen=True)

    task_id: str = Field(min_length=1, max_length=100)
    outcome: TaskOutcome
    result: dict[str, Any] = Field(default_factory=dict)
    error: str | None = Field(default=None, max_length=4000)
    finished_at: datetime


class MessageBody(BaseModel):
    """Hub → agent (`HubKind.MESSAGE`): a message of another agent; the ack marks it delivered."""

    model_config = ConfigDict(frozen=True)

    message_id: str = Field(min_length=1, max_length=100)
    from_agent_id: UUID
    channel: str | None = None
    type: str
    payload: dict[str, Any] = Field(default_factory=dict)
    correlation_id: str | None = None
    created_at: datetime
    expires_at: datetime


BODY_MODELS: dict[HubKind, type[BaseModel]] = {
    HubKind.MESSAGE: MessageBody,
    HubKind.COMMAND: CommandBody,
    HubKind.CONFIG: ConfigBody,
    HubKind.DRAIN: DrainBody,
    HubKind.TASK_OFFER: TaskOfferBody,
    HubKind.TASK_CANCEL: TaskCancelBody,
    HubKind.TUNNEL_OPEN: TunnelOpenBody,
    HubKind.REACH_REQUEST: ReachRequestBody,
}


class AdmitChannelAgent(BaseModel):
    """May this agent open its channel with this credential (any dialect's own credential)?"""

    model_config = ConfigDict(frozen=True)

    agent_id: UUID
    credential: str = Field(min_length=1, max_length=4096)


class ChannelAdmission(BaseModel):
    """An admitted agent: its dialect decides its heartbeat interval; `expires_at` its end."""

    model_config = ConfigDict(frozen=True)

    agent_id: UUID
    dialect: str
    expires_at: datetime | None = None
