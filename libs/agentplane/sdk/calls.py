"""A call: one HTTP request described as data, and how to read its answer.

Resources build calls; the transport sends them (with credentials and retries) and hands the
decoded JSON to `answer`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Generic, TypeVar
from urllib.parse import quote

from pydantic import BaseModel, TypeAdapter
from pydantic_core import to_jsonable_python

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


class Auth(Enum):
    """Which of the client's credentials a call carries."""

    NONE = "none"
    API_KEY = "api_key"  # x-api-key: <workspace key> (seeds 000, 001, 002, operator)
    BEARER_API_KEY = "bearer_api_key"  # Authorization: Bearer <workspace key> (seed 004)
    ADMIN = "admin"  # Authorization: Bearer <admin token>


@dataclass(frozen=True)
class Call(Generic[T]):
    """One request and the reader of its answer."""

    method: str
    path: str
    answer: Callable[[Any], T]
    body: BaseModel | Mapping[str, Any] | None = None
    params: Mapping[str, Any] | None = None
    auth: Auth = Auth.API_KEY
    headers: Mapping[str, str] = field(default_factory=dict)
    # Headers computed for each attempt (a fresh X-Request-Timestamp on every retry).
    signer: Callable[[], Mapping[str, str]] | None = None
    idempotency_key: str | None = None
    # True for POSTs whose effect is idempotent by nature (heartbeats, replacing a set).
    idempotent: bool = False

    def json(self) -> Any:
        if self.body is None:
            return None
        if isinstance(self.body, BaseModel):
            return self.body.model_dump(mode="json", by_alias=True, exclude_none=True)
        return to_jsonable_python(self.body)

    def query(self) -> dict[str, Any] | None:
        if not self.params:
            return None
        return {
            k: (str(v).lower() if isinstance(v, bool) else v)
            for k, v in self.params.items()
            if v is not None
        }


def path(template: str, *segments: object) -> str:
    """`template` with each `{}` replaced by one URL-quoted path segment."""
    return template.format(*(quote(str(s), safe="") for s in segments))


def model(cls: type[M]) -> Callable[[Any], M]:
    return cls.model_validate


@functools.cache
def models(cls: type[M]) -> Callable[[Any], list[M]]:
    # Cached: building a TypeAdapter costs more than most answers take to read.
    return TypeAdapter(list[cls]).validate_python  # type: ignore[valid-type]


def data(cls: type[M]) -> Callable[[Any], M]:
    """Seed 003's `{"success": true, "data": …}` envelope."""
    return lambda body: cls.model_validate(body["data"])


def optional_data(cls: type[M]) -> Callable[[Any], M | None]:
    return lambda body: None if body.get("data") is None else cls.model_validate(body["data"])


def raw(body: Any) -> Any:
    return body
