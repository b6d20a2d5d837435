"""The gateway's settings as a request dependency (parsed once, in `main`, kept on the app)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from agentplane.settings import GatewaySettings


def settings_of(request: Request) -> GatewaySettings:
    settings: GatewaySettings = request.app.state.settings
    return settings


AppSettings = Annotated[GatewaySettings, Depends(settings_of)]
