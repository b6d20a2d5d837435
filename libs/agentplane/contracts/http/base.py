"""Model bases of the HTTP shapes: how names are spelled.

Seeds 000, 001, 002 and the operator endpoints spell JSON names in camelCase: their models
have snake_case Python names with the documented camelCase aliases, and accept either name
(`populate_by_name`). Seeds 003 and 004 spell them in snake_case. Every model ignores fields
it does not know: a newer client or server may send more.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class CamelModel(BaseModel):
    """A body or answer whose JSON names are the camelCase ones of the documents."""

    model_config = ConfigDict(
        frozen=True,
        extra="ignore",
        alias_generator=to_camel,
        populate_by_name=True,
        serialize_by_alias=True,
    )


class SnakeModel(BaseModel):
    """A body or answer whose JSON names are snake_case (seeds 003 and 004)."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)


class Success(CamelModel):
    """`{"success": true}`, the plain acknowledgement of seeds 000 and 001."""

    success: bool
