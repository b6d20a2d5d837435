"""The mTLS terminator: HTTPS with required client certificates of the internal CA.

uvicorn does not hand the client certificate to the application, so this process does the
TLS and forwards plain HTTP to the gateway on loopback:

1. The handshake requires a client certificate that chains to the internal CA
   (`ssl.CERT_REQUIRED`, the CA as the only trust anchor): no certificate, or one of another
   CA, and the handshake fails; no request is read.
2. The certificate must be a client certificate (clientAuth) of this CA, valid now, and its
   serial a live credential of the agent it names (asked from the registry over NATS). A
   revoked one (deleted agent) is answered 403 and the connection closed.
3. Each request is forwarded with the verified identity (`X-Agentplane-Client-Cert-CN`,
   `-Serial`, the certificate itself) and the forwarding secret; any such headers the client
   sent are dropped. The gateway checks the serial with the registry again on every request.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import signal
import ssl
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

from cryptography import x509

from agentplane.bus.connection import connect
from agentplane.bus.requests import BusClient
from agentplane.contracts.errors import ErrorKind, ServiceError
from agentplane.contracts.orchestrator import AuthenticateOrchestratorCertificate
from agentplane.contracts.subjects import Registry
from agentplane.gateway.client_certificates import (
    CLIENT_CERT_HEADER,
    CLIENT_CN_HEADER,
    CLIENT_SERIAL_HEADER,
    FORWARDING_SECRET_HEADER,
    der_to_pem,
    forwarding_secret,
)
from agentplane.gateway.tls.proxy import Headers, Upstream, serve_connection
from agentplane.security.ca import (
    CertificateAuthority,
)
from agentplane.security.certificates import (
    CertificateRejected,
    common_name,
    serial_hex,
)
from agentplane.security.nats_credentials import service_credential
from agentplane.settings import GatewaySettings

log = logging.getLogger("agentplane.gateway.tls")

# A server certificate issued by the CA is re-issued well before it expires.
SERVER_CERT_DAYS = 30
SERVER_CERT_REFRESH_SECONDS = 12 * 3600
HANDSHAKE_TIMEOUT = 10.0
# Client connections served at once (as many as the gateway behind it takes); more are closed
# right after their handshake.
MAX_CONNECTIONS = 4096
REVOKED = "Client certificate is revoked or unknown"


def server_names(settings: GatewaySettings) -> list[str]:
    return [name.strip() for name in settings.tls_server_names.split(",") if name.strip()]


def load_server_certificate(
    context: ssl.SSLContext, settings: GatewaySettings, ca: CertificateAuthority
) -> None:
    """The operator's certificate files, or a fresh one from the internal CA."""
    if settings.tls_cert_file and settings.tls_key_file:
        context.load_cert_chain(settings.tls_cert_file, settings.tls_key_file)
        return
    issued = ca.issue_server(
        server_names(settings), datetime.now(UTC), validity=timedelta(days=SERVER_CERT_DAYS)
    )
    assert issued.key_pem is not None
    # ssl loads chains only from files: a private temporary directory, removed at once, so
    # the key lives on only in memory.
    with tempfile.TemporaryDirectory(prefix="agentplane-tls-") as tmp:
        cert_path, key_path = Path(tmp) / "server.crt", Path(tmp) / "server.key"
        cert_path.write_text(issued.cert_pem + issued.ca_pem)
        key_path.touch(mode=0o600)
        key_path.write_text(issued.key_pem)
        context.load_cert_chain(cert_path, key_path)


def server_context(settings: GatewaySettings, ca: CertificateAuthority) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.verify_mode = ssl.CERT_REQUIRED
    # The internal CA is the only trust anchor: no system CAs.
    context.load_verify_locations(cadata=ca.ca_pem)
    context.set_alpn_protocols(["http/1.1"])
    load_server_certificate(context, settings, ca)
    return context


class Terminator:
    """Accepts mTLS connections and forwards verified requests to the gateway."""

    def __init__(self, settings: GatewaySettings, ca: CertificateAuthority, bus: BusClient) -> None:
        self.settings = settings
        self.ca = ca
        self.bus = bus
        self.secret = forwarding_secret(settings)
        host = settings.http_host if settings.http_host not in ("0.0.0.0", "::") else "127.0.0.1"
        self.upstream = Upstream(host, settings.http_port)
        self.context = server_context(settings, ca)
        self.open_connections = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.open_connections >= MAX_CONNECTIONS:
            log.warning("refused a connection: %d already open", self.open_connections)
            writer.close()
            return
        self.open_connections += 1
        try:
            await self._handle(reader, writer)
        finally:
            self.open_connections -= 1

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        ssl_object = writer.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True) if ssl_object else None
        if not der:
            writer.close()
            return
        identity, agent_id, serial = self._identity(der)
        checked: list[tuple[int, str] | None] = []

        async def admit() -> tuple[int, str] | None:
            # Asked once per connection, at its first request; the gateway asks per request.
            if not checked:
                checked.append(await self._check(agent_id, serial))
            return checked[0]

        await serve_connection(reader, writer, self.upstream, identity, admit)

    def _identity(self, der: bytes) -> tuple[Headers, UUID | None, str]:
        cert = x509.load_der_x509_certificate(der)
        serial = serial_hex(cert)
        try:
            # The handshake checked the chain; this also insists on clientAuth (a server
            # certificate of the same CA is no agent identity) and on the validity period.
            self.ca.verify(der_to_pem(der), datetime.now(UTC))
            agent_id: UUID | None = UUID(common_name(cert) or "")
        except (CertificateRejected, ValueError):
            agent_id = None
        identity: Headers = [
            (FORWARDING_SECRET_HEADER.encode(), self.secret.encode()),
            (CLIENT_CN_HEADER.encode(), str(agent_id).encode()),
            (CLIENT_SERIAL_HEADER.encode(), serial.encode()),
            (CLIENT_CERT_HEADER.encode(), base64.b64encode(der)),
        ]
        return identity, agent_id, serial

    async def _check(self, agent_id: UUID | None, serial: str) -> tuple[int, str] | None:
        if agent_id is None:
            return 403, "Client certificate is not an agent certificate of this control plane"
        try:
            await self.bus.request(
                Registry.ORCHESTRATOR_AUTHENTICATE_CERT,
                AuthenticateOrchestratorCertificate(agent_id=agent_id, serial=serial),
            )
        except ServiceError as exc:
            if exc.kind is ErrorKind.UNAVAILABLE:
                return 503, "Service temporarily unavailable, try again"
            if exc.kind is ErrorKind.INTERNAL:
                return 500, exc.body.message  # names the request id the registry logged
            log.info("refused client certificate %s of agent %s: %s", serial, agent_id, exc)
            return 403, REVOKED
        return None

    async def refresh_server_certificate(self) -> None:
        while True:
            await asyncio.sleep(SERVER_CERT_REFRESH_SECONDS)
            try:
                load_server_certificate(self.context, self.settings, self.ca)
            except (OSError, ssl.SSLError) as exc:
                log.warning("could not reload the server certificate: %s", exc)


def _quiet_handshake_failures(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    # A client without a valid certificate is refused in the handshake: expected, not a crash.
    exc = context.get("exception")
    if isinstance(exc, ssl.SSLError | ConnectionError | TimeoutError):
        log.info("TLS handshake refused: %s", exc)
        return
    loop.default_exception_handler(context)


async def serve(settings: GatewaySettings) -> None:
    assert settings.tls_port, "AGENTPLANE_TLS_PORT is required"
    assert settings.nats_url, "NATS_URL is required"
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(_quiet_handshake_failures)
    ca = CertificateAuthority.load_or_create(settings.service_data_dir())
    credential = service_credential(settings)
    nc = await connect(
        settings.nats_url, "agentplane-tls", user=credential.user, password=credential.password
    )
    terminator = Terminator(settings, ca, BusClient(nc, settings.request_timeout))
    server = await asyncio.start_server(
        terminator.handle,
        settings.tls_host,
        settings.tls_port,
        ssl=terminator.context,
        ssl_handshake_timeout=HANDSHAKE_TIMEOUT,
        reuse_address=True,
    )
    refresh = asyncio.create_task(terminator.refresh_server_certificate())
    started = time.monotonic()
    log.info(
        "mTLS terminator on https://%s:%s → %s:%s",
        settings.tls_host,
        settings.tls_port,
        terminator.upstream.host,
        terminator.upstream.port,
    )
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        refresh.cancel()
        server.close()
        await server.wait_closed()
        await nc.drain()
        log.info("mTLS terminator stopped after %.0f s", time.monotonic() - started)
