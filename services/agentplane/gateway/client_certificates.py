"""Client-certificate identity handed from the TLS terminator to the gateway.

uvicorn never shows the application a client certificate, so the terminator
(`agentplane.gateway.tls`) verifies it during the handshake and forwards the verified identity
in headers. The gateway believes those headers only when the request also carries the
forwarding secret, which only the terminator and the gateway hold: a random secret of their
own in the data dir (`tls_forwarding.key`, 0600), not derived from the registry's server key,
which the gateway never reads (least secret per process). The terminator drops every incoming
`X-Agentplane-*` and `X-Client-Cert-*` header, so a client cannot smuggle an identity through
it either.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
import textwrap
from dataclasses import dataclass

from fastapi import Request

from agentplane.security.secret_files import load_or_create_text_secret
from agentplane.settings import GatewaySettings

FORWARDING_SECRET_HEADER = "x-agentplane-terminator"
CLIENT_CN_HEADER = "x-agentplane-client-cert-cn"
CLIENT_SERIAL_HEADER = "x-agentplane-client-cert-serial"
# The certificate itself (base64 DER, one line), for renewal through the heartbeat.
CLIENT_CERT_HEADER = "x-agentplane-client-cert"
# Incoming headers with these prefixes never pass the terminator.
STRIPPED_PREFIXES = ("x-agentplane-", "x-client-cert")
FORWARDING_KEY_FILE = "tls_forwarding.key"


def forwarding_secret(settings: GatewaySettings) -> str:
    """The secret the terminator sends and the gateway expects (same data dir, same value)."""
    return load_or_create_text_secret(
        settings.service_data_dir() / FORWARDING_KEY_FILE, lambda: secrets.token_hex(32)
    )


@dataclass(frozen=True)
class ClientCertificate:
    """A client certificate the terminator verified against the internal CA."""

    common_name: str
    serial: str
    pem: str | None


def der_to_pem(der: bytes) -> str:
    body = "\n".join(textwrap.wrap(base64.b64encode(der).decode(), 64))
    return f"-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----\n"


def verified_client_certificate(request: Request) -> ClientCertificate | None:
    """The verified client certificate of this request, or None (plain HTTP, or headers that
    did not come from the terminator)."""
    expected: str | None = getattr(request.app.state, "tls_forwarding_secret", None)
    presented = request.headers.get(FORWARDING_SECRET_HEADER)
    if not expected or not presented:
        return None
    if not hmac.compare_digest(presented.encode(), expected.encode()):
        return None
    common_name = request.headers.get(CLIENT_CN_HEADER)
    serial = request.headers.get(CLIENT_SERIAL_HEADER)
    if not common_name or not serial:
        return None
    pem = None
    if encoded := request.headers.get(CLIENT_CERT_HEADER):
        try:
            pem = der_to_pem(base64.b64decode(encoded, validate=True))
        except (binascii.Error, ValueError):
            pem = None
    return ClientCertificate(common_name=common_name, serial=serial, pem=pem)
