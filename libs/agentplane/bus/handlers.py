"""Turns a use case into a NATS request handler that always replies."""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from agentplane.bus import deadlines
from agentplane.contracts.errors import ErrorBody, ErrorKind, ServiceError
from agentplane.contracts.reply import Reply

log = logging.getLogger("agentplane.handlers")

Req = TypeVar("Req", bound=BaseModel)


def validation_details(exc: ValidationError) -> dict[str, Any]:
    """Name each invalid field and why, without echoing the offending input."""
    return {
        "fields": [
            {"field": ".".join(str(p) for p in err["loc"]), "message": err["msg"]}
            for err in exc.errors(include_input=False, include_url=False)
        ]
    }


class EncodedData(bytes):
    """A use case's answer already encoded as the JSON of its contract model (a big page
    spliced from stored JSON documents, say); sent as the reply's `data` as it is."""


def success(result: BaseModel | EncodedData) -> bytes:
    """`Reply.success(result)` encoded, without decoding and re-encoding `result`."""
    data = result if isinstance(result, EncodedData) else result.model_dump_json().encode()
    return b'{"ok":true,"data":' + data + b',"error":null}'


def replying(
    request_model: type[Req],
) -> Callable[
    [Callable[[Req], Awaitable[BaseModel | EncodedData]]], Callable[[bytes], Awaitable[bytes]]
]:
    """Decode the request, run the use case, encode `Reply` — errors included."""

    def wrap(
        use_case: Callable[[Req], Awaitable[BaseModel | EncodedData]],
    ) -> Callable[[bytes], Awaitable[bytes]]:
        return _answering(request_model.model_validate_json, use_case)

    return wrap


def replying_encoded(
    use_case: Callable[[bytes], Awaitable[BaseModel | EncodedData]],
) -> Callable[[bytes], Awaitable[bytes]]:
    """Like `replying`, but the use case gets the request's bytes and decodes them itself: a
    hot path that checks a big request cheaper than its model would (a `ValidationError` it
    raises is still a validation reply)."""
    return _answering(_as_is, use_case)


def _as_is(raw: bytes) -> bytes:
    return raw


def _answering(
    decode: Callable[[bytes], Any],
    use_case: Callable[[Any], Awaitable[BaseModel | EncodedData]],
) -> Callable[[bytes], Awaitable[bytes]]:
    @functools.wraps(use_case)
    async def handle(raw: bytes) -> bytes:
        try:
            # Waited in the queue past the caller's deadline: not run, nothing changed.
            deadlines.check(deadlines.current.get())
            return success(await use_case(decode(raw)))
        except ValidationError as exc:
            reply = Reply.failure(
                ErrorBody(
                    kind=ErrorKind.VALIDATION,
                    message="invalid request",
                    details=validation_details(exc),
                )
            )
        except ServiceError as exc:
            reply = Reply.failure(exc.body)
        except Exception:
            # A bug, not an outage: never disguised as "unavailable, try again".
            error_id = uuid.uuid4().hex
            log.exception("handler %s failed (request id %s)", use_case.__name__, error_id)
            reply = Reply.failure(
                ErrorBody(
                    kind=ErrorKind.INTERNAL,
                    message=f"Internal error (request id {error_id})",
                    details={"requestId": error_id},
                )
            )
        return reply.model_dump_json().encode()

    return handle
