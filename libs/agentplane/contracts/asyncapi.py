"""The AsyncAPI 3.0 document of the subjects agents and SREs use directly.

Built from the contracts themselves (subjects and pydantic schemas), so it cannot drift from
the code; `agentplane asyncapi` prints it and deploy/asyncapi.json is its committed copy.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from agentplane.contracts import asyncapi_events
from agentplane.contracts.asyncapi_channel import MODELS as CHANNEL_MODELS
from agentplane.contracts.asyncapi_channel import channels_and_operations
from agentplane.contracts.events import IntegrationEvent
from agentplane.contracts.liveness import BeatAccepted, NativeBeat
from agentplane.contracts.reply import Reply
from agentplane.contracts.streams import DEAD_LETTER_STREAM, EVENTS_STREAM, TELEMETRY_STREAM
from agentplane.contracts.subjects import PREFIX

TITLE = "agentplane NATS API"


def _schema(model: type[BaseModel]) -> dict[str, Any]:
    return model.model_json_schema(ref_template="#/components/schemas/{model}")


def document(version: str = "0.1.0") -> dict[str, Any]:
    models: list[type[BaseModel]] = [
        NativeBeat,
        BeatAccepted,
        Reply,
        IntegrationEvent,
    ]
    models += [m for m in dict.fromkeys(CHANNEL_MODELS) if m not in models]
    models += asyncapi_events.MODELS
    schemas: dict[str, Any] = {}
    for model in models:
        schema = _schema(model)
        schemas.update(schema.pop("$defs", {}))
        assert model.__name__ not in schemas, f"two schemas named {model.__name__}"
        schemas[model.__name__] = schema

    def message(name: str, summary: str, payload: dict[str, Any]) -> dict[str, Any]:
        return {
            "name": name,
            "summary": summary,
            "contentType": "application/json",
            "payload": payload,
        }

    ref = {m.__name__: {"$ref": f"#/components/schemas/{m.__name__}"} for m in models}
    free_form = {"type": "object", "additionalProperties": True}
    channel_channels, channel_operations = channels_and_operations()
    event_channels, event_operations = asyncapi_events.channels_and_operations()
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": TITLE,
            "version": version,
            "description": (
                "Subjects agents publish to and operators subscribe to. Request/reply between "
                "agentplane's own services (`ap.<service>.<verb>`) is internal and not listed."
            ),
        },
        "defaultContentType": "application/json",
        "channels": {
            "nativeHeartbeat": {
                "address": f"{PREFIX}.hb.{{agentId}}",
                "description": (
                    "NATS-native heartbeats: same validation and effects as the HTTP dialects. "
                    "With a reply subject the agent gets a Reply carrying BeatAccepted or a "
                    "typed error (unauthorized, validation, unavailable)."
                ),
                "parameters": {"agentId": {"description": "The agent's UUID, lowercase."}},
                "messages": {
                    "beat": message("NativeBeat", "One heartbeat", ref["NativeBeat"]),
                    "accepted": message("Reply", "Reply to a heartbeat", ref["Reply"]),
                },
            },
            "integrationEvents": {
                "address": f"{PREFIX}.events.{{app}}.{{type}}",
                "description": (
                    f"Every recorded event, once, in the {EVENTS_STREAM} JetStream stream "
                    "(global order = stream order; Nats-Msg-Id = '<app>:<position>')."
                ),
                "parameters": {
                    "app": {"description": "registry, heartbeat, …"},
                    "type": {
                        "description": (
                            "Stable event topic, e.g. agent.Registered; each type has its own "
                            "channel below (`event.<type>`) with the schema of its `data`"
                        )
                    },
                },
                "messages": {
                    "event": message(
                        "IntegrationEvent", "A recorded event", ref["IntegrationEvent"]
                    ),
                },
            },
            "telemetry": {
                "address": f"{PREFIX}.telemetry.{{kind}}.{{agentId}}",
                "description": (
                    f"Heartbeat bodies and metrics in the capped {TELEMETRY_STREAM} stream "
                    "(per-agent limit), separate from the control path; never carries secrets."
                ),
                "parameters": {
                    "kind": {"description": "heartbeat or metrics"},
                    "agentId": {"description": "The agent's UUID"},
                },
                "messages": {
                    "entry": message("Telemetry", "A heartbeat or metrics body", free_form)
                },
            },
            "deadLetters": {
                "address": f"{PREFIX}.deadletter.{{consumer}}",
                "description": (
                    f"Messages a durable consumer gave up on, kept in {DEAD_LETTER_STREAM} "
                    "with headers naming the original stream and sequence."
                ),
                "parameters": {"consumer": {"description": "Durable consumer name"}},
                "messages": {"parked": message("DeadLetter", "The original message", free_form)},
            },
            **channel_channels,
            **event_channels,
        },
        "operations": {
            "sendHeartbeat": {
                "action": "send",
                "channel": {"$ref": "#/channels/nativeHeartbeat"},
                "messages": [{"$ref": "#/channels/nativeHeartbeat/messages/beat"}],
                "reply": {"messages": [{"$ref": "#/channels/nativeHeartbeat/messages/accepted"}]},
            },
            "receiveEvents": {
                "action": "receive",
                "channel": {"$ref": "#/channels/integrationEvents"},
            },
            "receiveTelemetry": {"action": "receive", "channel": {"$ref": "#/channels/telemetry"}},
            "receiveDeadLetters": {
                "action": "receive",
                "channel": {"$ref": "#/channels/deadLetters"},
            },
            **channel_operations,
            **event_operations,
        },
        "components": {"schemas": schemas},
    }
