"""The integration events' part of the AsyncAPI document: one channel per event type.

Each channel is `ap.events.<app>.<type>` and its message an `IntegrationEvent` whose `type`
and `version` are fixed and whose `data` is that type's `PublicEvent` schema.
"""

from __future__ import annotations

from typing import Any

from agentplane.contracts.events import PublicEvent
from agentplane.contracts.events.event_types import EVENT_TYPES
from agentplane.contracts.lifecycle_events import AGENT_TRANSITIONED
from agentplane.contracts.subjects import Events

# Producing module → the app that publishes its events (the app segment of the subject).
_APPS = {"registry_workspace": "registry"}

# Channels whose id and description predate the per-type listing.
CHANNEL_IDS = {AGENT_TRANSITIONED: "agentTransitions"}
DESCRIPTIONS = {
    AGENT_TRANSITIONED: (
        "Every lifecycle transition of an agent (NEW, PROVISIONED, ACTIVE, UNHEALTHY, "
        "DRAINING, TERMINATED, KILLED); what lifecycle webhooks are made of."
    ),
}

MODELS: list[type[PublicEvent]] = EVENT_TYPES.models()


def app_of(model: type[PublicEvent]) -> str:
    module = model.__module__.rsplit(".", 1)[-1]
    return _APPS.get(module, module)


def _summary(model: type[PublicEvent]) -> str:
    return (model.__doc__ or model.TYPE).strip().splitlines()[0]


def channels_and_operations() -> tuple[dict[str, Any], dict[str, Any]]:
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for model in MODELS:
        key = CHANNEL_IDS.get(model.TYPE, f"event.{model.TYPE}")
        description = DESCRIPTIONS.get(model.TYPE, _summary(model))
        channels[key] = {
            "address": Events.subject(app_of(model), model.TYPE),
            "title": model.TYPE,
            "description": (
                f"{description} An IntegrationEvent of type `{model.TYPE}`, version "
                f"{model.VERSION}; its `data` is {model.__name__}. Fields only grow."
            ),
            "messages": {
                "event": {
                    "name": model.__name__,
                    "title": f"{model.TYPE} v{model.VERSION}",
                    "summary": _summary(model),
                    "contentType": "application/json",
                    "payload": {
                        "allOf": [
                            {"$ref": "#/components/schemas/IntegrationEvent"},
                            {
                                "type": "object",
                                "properties": {
                                    "type": {"const": model.TYPE},
                                    "version": {"const": model.VERSION},
                                    "data": {"$ref": f"#/components/schemas/{model.__name__}"},
                                },
                            },
                        ]
                    },
                }
            },
        }
        operations[f"receive.{model.TYPE}"] = {
            "action": "receive",
            "channel": {"$ref": f"#/channels/{key}"},
            "messages": [{"$ref": f"#/channels/{key}/messages/event"}],
        }
    return channels, operations
