"""The agent channel's part of the AsyncAPI document (see `asyncapi.document`)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from agentplane.contracts import channel as ch
from agentplane.contracts.liveness import BeatRecorded
from agentplane.contracts.subjects import PREFIX, AgentChannel

AGENT = {"agentId": {"description": "The agent's UUID; only that agent may use the subject."}}

# kind of `ap.agent.<id>.<kind>` → (what the agent sends, the hub's reply or None, summary)
FROM_AGENT: dict[str, tuple[type[BaseModel], type[BaseModel] | None, str]] = {
    AgentChannel.HELLO: (
        ch.AgentHello,
        ch.ChannelWelcome,
        "On every (re)connect; the hub answers and resends everything pending.",
    ),
    AgentChannel.HEARTBEAT: (
        ch.ChannelBeat,
        BeatRecorded,
        "A heartbeat; the subject is the agent's identity (no token).",
    ),
    AgentChannel.RESULT: (ch.CommandResult, None, "How a command ended on the agent."),
    AgentChannel.TASK_PROGRESS: (ch.TaskProgress, None, "How far a task has got."),
    AgentChannel.TASK_LOG: (ch.TaskLogLine, None, "A line a running task wrote."),
    AgentChannel.TASK_RESULT: (ch.TaskResult, None, "How a task ended on the agent."),
}

MODELS: list[type[BaseModel]] = [
    ch.HubMessage,
    ch.ChannelAck,
    *ch.BODY_MODELS.values(),
    *(m for sent, reply, _ in FROM_AGENT.values() for m in (sent, reply) if m is not None),
]


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _message(model: type[BaseModel], summary: str) -> dict[str, Any]:
    return {
        "name": model.__name__,
        "summary": summary,
        "contentType": "application/json",
        "payload": _ref(model),
    }


def channels_and_operations() -> tuple[dict[str, Any], dict[str, Any]]:
    channels: dict[str, Any] = {
        "agentInbox": {
            "address": f"{PREFIX}.inbox.{{agentId}}",
            "description": (
                "Hub → agent requests; the agent's reply is its acknowledgement (at least "
                "once: a repeated id is harmless). `body` follows the kind: "
                + ", ".join(f"{k.value} → {m.__name__}" for k, m in ch.BODY_MODELS.items())
            ),
            "parameters": AGENT,
            "messages": {
                "hub": _message(ch.HubMessage, "A hub → agent message"),
                "ack": _message(ch.ChannelAck, "The agent's acknowledgement"),
            },
        }
    }
    operations: dict[str, Any] = {
        "receiveHubMessages": {
            "action": "receive",
            "channel": {"$ref": "#/channels/agentInbox"},
            "messages": [{"$ref": "#/channels/agentInbox/messages/hub"}],
            "reply": {"messages": [{"$ref": "#/channels/agentInbox/messages/ack"}]},
        }
    }
    for kind, (sent, reply, summary) in FROM_AGENT.items():
        name = "agent" + "".join(part.title() for part in kind.split("."))
        messages = {"sent": _message(sent, summary)}
        if reply is not None:
            messages["reply"] = _message(reply, "The hub's reply (inside a Reply envelope)")
        channels[name] = {
            "address": f"{PREFIX}.agent.{{agentId}}.{kind}",
            "description": summary,
            "parameters": AGENT,
            "messages": messages,
        }
        operation: dict[str, Any] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{name}"},
            "messages": [{"$ref": f"#/channels/{name}/messages/sent"}],
        }
        if reply is not None:
            operation["reply"] = {"messages": [{"$ref": f"#/channels/{name}/messages/reply"}]}
        operations["send" + name[0].upper() + name[1:]] = operation
    return channels, operations
