"""Beat bodies validated by hand (no model building per message): native and seed 000 beats."""

from __future__ import annotations

import json
import re
from uuid import UUID

from agentplane.contracts.liveness import MAX_NATIVE_BEAT_BYTES

AGENT_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
MAX_TOKEN = 512
BAD_TOKEN = "token must be a string of 1 to 512 characters"
# JSON text to Python without the per-call encoding sniffing of json.loads(bytes).
_decode = json.JSONDecoder().decode


class InvalidBeat(ValueError):
    """What is wrong with a beat's body (the message its sender gets)."""


def native_beat(data: bytes) -> tuple[str, bytes | None]:
    """The token of a native beat (`{"token": …, …}`) and the rest of its body as telemetry.

    A beat that reported nothing but its credential has no telemetry (None): it leaves no
    message on the telemetry channel (its time is the agent's last seen).
    """
    if len(data) > MAX_NATIVE_BEAT_BYTES:
        raise InvalidBeat("heartbeat body is too large")
    try:
        body = _decode(data.decode())
    except ValueError:
        raise InvalidBeat("heartbeat body must be a JSON object") from None
    if type(body) is not dict:
        raise InvalidBeat("heartbeat body must be a JSON object")
    token = body.pop("token", None)
    if type(token) is not str or not 0 < len(token) <= MAX_TOKEN:
        raise InvalidBeat(BAD_TOKEN)
    return token, json.dumps(body).encode() if body else None


def gateway_beat(data: bytes) -> tuple[str, str]:
    """The agent id and token of a seed 000 beat (`AgentBeat`); the token's length is checked
    by the replica that owns the agent."""
    try:
        body = json.loads(data)
        agent_id = str(UUID(body["agent_id"]))
        token = body["token"]
    except (ValueError, KeyError, TypeError, AttributeError):
        raise InvalidBeat("agent_id (UUID) and token are required") from None
    if type(token) is not str:
        raise InvalidBeat("token must be a string")
    return agent_id, token
