"""Model bases of the HTTP shapes: how names are spelled and how strictly bodies are read.

Request bodies (`CamelBody`) accept exactly the documented (camelCase) names, as the gateway
always has; answers (`CamelAnswer`, `SnakeAnswer`) accept the documented names and the Python
ones, and ignore fields a newer server may add.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class CamelBody(BaseModel):
    """A request body whose JSON names are the camelCase ones of the documents."""

    model_config = ConfigDict(
        frozen=True,
        extra="ignore",
        alias_generator=to_camel,
        validate_by_alias=True,
        validate_by_name=False,
        serialize_by_alias=True,
    )


class SnakeBody(BaseModel):
    """A request body whose JSON names are snake_case (seeds 003 and 004)."""

    model_config = ConfigDict(frozen=True, extra="ignore")


class CamelAnswer(BaseModel):
    """An answer whose JSON names are camelCase; Python names work too."""

    model_config = ConfigDict(
        frozen=True,
        extra="ignore",
        alias_generator=to_camel,
        populate_by_name=True,
        serialize_by_alias=True,
    )


class SnakeAnswer(BaseModel):
    """An answer whose JSON names are snake_case (seeds 003 and 004)."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)


class Success(CamelAnswer):
    """`{"success": true}`, the plain acknowledgement of seeds 000 and 001."""

    success: bool


JsonObject = dict[str, Any]
