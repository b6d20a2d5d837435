"""Composition root of the gateway: uvicorn serving the FastAPI app."""

from __future__ import annotations

import contextlib
import resource

import uvicorn

from agentplane.bus.gc_tuning import tune_for_server
from agentplane.bus.host import configure_logging
from agentplane.gateway.app import create_app
from agentplane.gateway.routers.channel import WS_MAX_BYTES
from agentplane.settings import GatewaySettings

# Open connections (and WebSockets) uvicorn holds; beyond it, it answers 503 at once. Requests
# being served are bounded separately, and wait their turn (`gateway.admission`): an idle
# keep-alive connection costs little, so a storm of clients is queued, not refused.
MAX_CONNECTIONS = 10_000
# File descriptors kept for everything else (NATS, logs, the TLS terminator's links).
RESERVED_FDS = 512
# Connections waiting to be accepted by the kernel.
BACKLOG = 4096
# An idle keep-alive connection is closed after this long (uvicorn's default is 5 s; agents
# beating every few seconds through a proxy reuse their connection).
KEEP_ALIVE_SECONDS = 15
# Request heads bigger than this are refused (uvicorn's default for h11, stated here).
MAX_HEAD_BYTES = 16 * 1024


def connection_limit() -> int:
    """MAX_CONNECTIONS, or fewer when the process may not open that many files."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
    if soft == resource.RLIM_INFINITY:
        return MAX_CONNECTIONS
    return max(1024, min(MAX_CONNECTIONS, soft - RESERVED_FDS))


def uvicorn_config(settings: GatewaySettings, app: object) -> uvicorn.Config:
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
        limit_concurrency=connection_limit(),
        backlog=BACKLOG,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        h11_max_incomplete_event_size=MAX_HEAD_BYTES,
        # The agent channel's bound: bigger WebSocket messages are refused before buffering.
        ws_max_size=WS_MAX_BYTES,
    )


def main() -> None:
    settings = GatewaySettings()
    configure_logging(settings.log_level)
    app = create_app(settings)
    # After the app is built: its routes and schemas are frozen out of the collector's scans.
    tune_for_server()
    uvicorn.Server(uvicorn_config(settings, app)).run()


if __name__ == "__main__":
    main()
