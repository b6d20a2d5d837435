"""The envelope of every request/reply answer: `{"ok": true, "data": …}` or an error."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from agentplane.contracts.errors import ErrorBody


class Reply(BaseModel):
    """A reply on the bus: data when ok, a typed error otherwise."""

    model_config = ConfigDict(frozen=True)

    ok: bool
    data: dict[str, Any] | None = None
    error: ErrorBody | None = None

    @classmethod
    def success(cls, data: BaseModel | dict[str, Any]) -> Reply:
        payload = data.model_dump(mode="json") if isinstance(data, BaseModel) else data
        return cls(ok=True, data=payload)

    @classmethod
    def failure(cls, error: ErrorBody) -> Reply:
        return cls(ok=False, error=error)
