"""The base of every typed integration event, and the one time type on its wire."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, ClassVar

from pydantic import BaseModel, ConfigDict, PlainSerializer

# A moment on the wire of `IntegrationEvent.data`: ISO 8601 as `datetime.isoformat()` writes
# it ("2026-01-02T03:04:05.123456+00:00"), the form subscribers have always read there.
Instant = Annotated[
    datetime, PlainSerializer(lambda value: value.isoformat(), return_type=str, when_used="json")
]


class PublicEvent(BaseModel):
    """The `data` of one integration event type, at one version.

    Fields only grow (new ones optional); any other change is a new `VERSION` with an
    upcaster from the old one (`EventTypes.upcaster`). Unknown fields are ignored, so a
    consumer reads events of a producer that added fields since.
    """

    model_config = ConfigDict(frozen=True)

    TYPE: ClassVar[str]
    VERSION: ClassVar[int] = 1
