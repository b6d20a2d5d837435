"""Composition root of the edge: the data port, a listener per tunnel port, the public HTTP(S)
listener, and the routes they serve (from the registry's catalog over NATS)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import resource

from agentplane.bus.host import ServiceHost, configure_logging
from agentplane.bus.requests import BusClient
from agentplane.contracts.errors import ServiceError
from agentplane.edge.certificates import RENEW_SECONDS, DataPortTls, advertised_host
from agentplane.edge.certificates import public_context as make_public_context
from agentplane.edge.data_port import DataPort, StreamTokens
from agentplane.edge.events import subscribe_events
from agentplane.edge.opener import StreamOpener
from agentplane.edge.public_http import PublicHttp
from agentplane.edge.routes import RouteTable, load_routes
from agentplane.edge.streams import ActiveStreams
from agentplane.edge.tunnel_ports import TunnelPorts
from agentplane.relay.loopback import is_loopback
from agentplane.security.ca import CertificateAuthority
from agentplane.security.nats_credentials import service_credential
from agentplane.settings import EdgeSettings

log = logging.getLogger("agentplane.edge")


def _raise_open_files_limit() -> None:
    # Each stream holds two sockets here (and two pipes when spliced).
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class Edge:
    def __init__(self, settings: EdgeSettings) -> None:
        assert settings.nats_url, "NATS_URL is required"
        self.settings = settings
        self.host = ServiceHost("edge", settings.nats_url, service_credential(settings))
        ca = CertificateAuthority.load_or_create(settings.service_data_dir())
        self.ca = ca
        self.data_tls = DataPortTls(settings, ca)
        self.advertised = advertised_host(settings)
        # Plain TCP only where it crosses no network: the edge's own loopback.
        self.plain_on_loopback = settings.edge_data_tls == "off-loopback"
        self.tls = not (self.plain_on_loopback and is_loopback(self.advertised))
        self.tokens = StreamTokens()
        self.streams = ActiveStreams()
        self.table = RouteTable()
        self.reload = asyncio.Event()
        self.data_port = DataPort(
            settings.edge_data_host, settings.edge_data_port, self.data_tls,
            self.plain_on_loopback, self.tokens,
        )  # fmt: skip
        self.public_context = make_public_context(settings, ca)
        self.bus: BusClient | None = None
        self.ports: TunnelPorts | None = None
        self.public: PublicHttp | None = None
        self._routes_ok: bool | None = None
        self.host.on_start(self._start)
        self.host.on_stop(self._stop)

    async def _start(self) -> None:
        nc = self.host.broker.connection
        self.bus = BusClient(nc, self.settings.request_timeout)
        port = self.data_port.bind()
        opener = StreamOpener(
            nc, self.tokens, self.data_port, self.advertised, self.tls, self.ca.ca_pem,
            self.settings.edge_open_timeout_seconds,
        )  # fmt: skip
        self.ports = TunnelPorts(self.settings.tunnel_host, opener, self.streams)
        log.info("data port %s:%d (agents dial %s, %s)", self.settings.edge_data_host, port,
                 self.advertised, "TLS" if self.tls else "plain TCP on loopback")  # fmt: skip
        if self.settings.public_http_port is not None:
            self.public = PublicHttp(
                self.settings.public_http_host, self.settings.public_http_port,
                self.settings.public_domain, self.public_context, lambda: self.table,
                opener, self.streams,
            )  # fmt: skip
            public_port = self.public.bind()
            scheme = "https" if self.public_context else "http"
            log.info("public %s on %s:%d for *.%s", scheme, self.settings.public_http_host,
                     public_port, self.settings.public_domain)  # fmt: skip
            self.host.loop(self.public.serve)
        await subscribe_events(nc, self.reload, self.streams)
        self.host.loop(self.data_port.serve)
        self.host.loop(self._refresh_forever)
        self.host.loop(self._renew_forever)

    async def refresh(self) -> None:
        assert self.bus is not None and self.ports is not None
        try:
            table = await load_routes(self.bus)
        except ServiceError as exc:
            if self._routes_ok is not False:
                log.warning("routes unavailable, keeping %d: %s", len(self.table.by_port), exc)
            self._routes_ok = False
            return
        self._routes_ok = True
        self.table = table
        self.ports.apply(table)

    async def _refresh_forever(self) -> None:
        while True:
            try:
                await self.refresh()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("route refresh failed; retrying")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self.reload.wait(), self.settings.edge_routes_refresh_seconds
                )
            self.reload.clear()

    async def _renew_forever(self) -> None:
        while True:
            await asyncio.sleep(RENEW_SECONDS)
            await asyncio.to_thread(self.data_tls.renew)

    async def _stop(self) -> None:
        if self.ports is not None:
            await self.ports.close()
        if self.public is not None:
            await self.public.close()
        self.data_port.close()
        self.streams.abort_all()

    async def serve(self) -> None:
        await self.host.serve()


def build(settings: EdgeSettings) -> Edge:
    return Edge(settings)


def main() -> None:
    settings = EdgeSettings()
    configure_logging(settings.log_level)
    _raise_open_files_limit()
    asyncio.run(build(settings).serve())


if __name__ == "__main__":
    main()
