"""Composition root of the gateway: uvicorn serving the FastAPI app."""

from __future__ import annotations

import uvicorn

from agentplane.bus.host import configure_logging
from agentplane.gateway.app import create_app
from agentplane.gateway.routers.channel import WS_MAX_BYTES
from agentplane.settings import Settings


def uvicorn_config(settings: Settings, app: object) -> uvicorn.Config:
    """The uvicorn settings of the gateway (benchmarks reuse them for their baseline)."""
    return uvicorn.Config(
        app,
        host=settings.http_host,
        port=settings.http_port,
        loop="uvloop",
        http="httptools",
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=5,
        # The agent channel's bound: bigger WebSocket messages are refused before buffering.
        ws_max_size=WS_MAX_BYTES,
    )


def main() -> None:
    settings = Settings()
    configure_logging(settings.log_level)
    uvicorn.Server(uvicorn_config(settings, create_app(settings))).run()


if __name__ == "__main__":
    main()
