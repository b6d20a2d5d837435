"""`python -m agentplane.gateway.tls`: the mTLS terminator (the launcher starts it when
`AGENTPLANE_TLS_PORT` is set)."""

from __future__ import annotations

import asyncio

from agentplane.bus.host import configure_logging
from agentplane.gateway.tls.server import serve
from agentplane.settings import GatewaySettings


def main() -> None:
    settings = GatewaySettings()
    configure_logging(settings.log_level)
    asyncio.run(serve(settings))


main()
