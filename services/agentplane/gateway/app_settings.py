"""The gateway's settings as a request dependency (parsed once, in `main`, kept on the app)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from agentplane.settings import Settings


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


AppSettings = Annotated[Settings, Depends(settings_of)]
