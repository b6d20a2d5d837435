"""The replies a beat gets, encoded: accepted or recorded, invalid, refused or unverified."""

from __future__ import annotations

from uuid import UUID

from pydantic import BaseModel

from agentplane.contracts.errors import ErrorBody, ErrorKind
from agentplane.contracts.liveness import BeatAccepted, BeatRecorded
from agentplane.contracts.reply import Reply
from agentplane.heartbeat.transition_events import epoch_to_datetime


def error_reply(kind: ErrorKind, message: str) -> bytes:
    return Reply.failure(ErrorBody(kind=kind, message=message)).model_dump_json().encode()


INVALID_CREDENTIALS = error_reply(ErrorKind.UNAUTHORIZED, "Invalid agent credentials")
NOT_VERIFIED = error_reply(ErrorKind.UNAVAILABLE, "credentials could not be checked; try again")


def invalid_reply(message: str) -> bytes:
    """What is wrong with a beat, as the validation error its sender gets."""
    return error_reply(ErrorKind.VALIDATION, message)


def accepted_reply(agent_id: str, now: float, record: bool, came_online: bool) -> bytes:
    """A native or seed 000 beat's `BeatAccepted`; a recorded beat's `BeatRecorded`."""
    result: BaseModel
    if record:
        result = BeatRecorded(
            agent_id=UUID(agent_id),
            last_seen_at=epoch_to_datetime(now),
            came_online=came_online,
        )
    else:
        result = BeatAccepted(agent_id=UUID(agent_id), last_seen_at=epoch_to_datetime(now))
    return Reply.success(result).model_dump_json().encode()
