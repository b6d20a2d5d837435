"""A service's handler table: subject → (request model, use case, command | query | raw | encoded).

Each service lists its request handlers once, as `Route`s, and `serve_routes` subscribes them
all: decoding, the `Reply` envelope and error replies live in `bus.handlers.replying`, how a
use case runs lives in the service's `Dispatch` (commands and queries), and nothing else is
written per handler.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from enum import Enum
from typing import Any, Protocol

from pydantic import BaseModel

from agentplane.bus.handlers import EncodedData, replying, replying_encoded
from agentplane.bus.host import ServiceHost

UseCase = Callable[[Any], Any]


class Kind(Enum):
    """How the service's dispatch runs a use case."""

    COMMAND = "command"  # changes state: the dispatch may wait until its events are public
    QUERY = "query"  # only reads
    RAW = "raw"  # an async use case awaited as it is (it runs its own waits and threads)
    # An async use case given the request's bytes: it decodes them itself, for a hot path whose
    # big requests a cheaper check than the model can pass (`request` is still the contract).
    ENCODED = "encoded"


# A route's queue group when every replica answers (each says something of its own).
EVERY_REPLICA = ""


class Dispatch(Protocol):
    """Runs a service's commands and queries (a thread pool, a wait for publication, …)."""

    def command(self, use_case: UseCase, request: Any) -> Awaitable[Any]: ...

    def query(self, use_case: UseCase, request: Any) -> Awaitable[Any]: ...


class InThreads:
    """The dispatch of a service whose synchronous use cases only need a thread each."""

    async def command(self, use_case: UseCase, request: Any) -> Any:
        return await asyncio.to_thread(use_case, request)

    async def query(self, use_case: UseCase, request: Any) -> Any:
        return await asyncio.to_thread(use_case, request)


class Awaiting:
    """The dispatch of a service whose use cases are async (they run their own threads)."""

    async def command(self, use_case: UseCase, request: Any) -> Any:
        return await use_case(request)

    async def query(self, use_case: UseCase, request: Any) -> Any:
        return await use_case(request)


@dataclass(frozen=True)
class Route:
    """One request subject of a service and the use case that answers it."""

    subject: str
    request: type[BaseModel]
    use_case: UseCase
    kind: Kind
    queue: str | None = None  # None: the service's queue group; EVERY_REPLICA: none
    concurrency: int = 256


def command(subject: str, request: type[BaseModel], use_case: UseCase, **options: Any) -> Route:
    return Route(subject, request, use_case, Kind.COMMAND, **options)


def query(subject: str, request: type[BaseModel], use_case: UseCase, **options: Any) -> Route:
    return Route(subject, request, use_case, Kind.QUERY, **options)


def raw(subject: str, request: type[BaseModel], use_case: UseCase, **options: Any) -> Route:
    return Route(subject, request, use_case, Kind.RAW, **options)


def encoded(subject: str, request: type[BaseModel], use_case: UseCase, **options: Any) -> Route:
    return Route(subject, request, use_case, Kind.ENCODED, **options)


def as_reply_data(result: Any) -> BaseModel | EncodedData:
    # A use case that splices a page from stored JSON returns its bytes: sent as they are.
    if isinstance(result, bytes) and not isinstance(result, EncodedData):
        return EncodedData(result)
    return result  # type: ignore[no-any-return]


def handler(route: Route, dispatch: Dispatch | None) -> Callable[[bytes], Awaitable[bytes]]:
    """The request handler of one route: decode, run the use case its way, reply."""
    use_case = route.use_case
    if route.kind is Kind.ENCODED:

        async def decoding(raw: bytes) -> BaseModel | EncodedData:
            return as_reply_data(await use_case(raw))

        decoding.__name__ = getattr(use_case, "__name__", route.subject)
        return replying_encoded(decoding)
    if route.kind is Kind.RAW:

        async def run(request: Any) -> BaseModel | EncodedData:
            return as_reply_data(await use_case(request))

    else:
        if dispatch is None:
            raise ValueError(f"{route.subject}: a {route.kind.value} route needs a dispatch")
        runs = dispatch.command if route.kind is Kind.COMMAND else dispatch.query

        async def run(request: Any) -> BaseModel | EncodedData:
            return as_reply_data(await runs(use_case, request))

    # Logs and stack traces name the use case, not this wrapper.
    run.__name__ = getattr(use_case, "__name__", route.subject)
    return replying(route.request)(run)


def serve_routes(
    host: ServiceHost, routes: Iterable[Route], dispatch: Dispatch | None = None
) -> None:
    """Answer every route's subject on `host` (each subject at most once)."""
    seen: set[str] = set()
    for route in routes:
        if route.subject in seen:
            raise ValueError(f"{route.subject} is in the handler table twice")
        seen.add(route.subject)
        host.handle(
            route.subject,
            handler(route, dispatch),
            queue=route.queue,
            concurrency=route.concurrency,
        )
