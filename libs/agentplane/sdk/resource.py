"""The base of every resource group: it holds the transport its calls go through."""

from __future__ import annotations

from agentplane.sdk.transport import Transport


class Resource:
    """A group of endpoints (async methods; the sync twin reuses them through `synced`)."""

    def __init__(self, transport: Transport) -> None:
        self._t = transport
