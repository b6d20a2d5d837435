"""The edge's TLS: the data port's certificate (issued by the internal CA for the address
agents dial, renewed long before it expires) and the public HTTPS listener's certificate."""

from __future__ import annotations

import ssl
from datetime import UTC, datetime, timedelta

from agentplane.relay.ends import load_chain_pem, server_context
from agentplane.security.ca import CertificateAuthority
from agentplane.settings import EdgeSettings

CERT_VALIDITY = timedelta(days=30)
# Reissued this often, so a long-running edge never serves an expired certificate.
RENEW_SECONDS = 12 * 3600.0
WILDCARD_ADDRESSES = frozenset({"0.0.0.0", "::", ""})


def advertised_host(settings: EdgeSettings) -> str:
    """The address agents dial for the data port."""
    if settings.edge_data_advertise_host:
        return settings.edge_data_advertise_host
    if settings.edge_data_host in WILDCARD_ADDRESSES:
        return "127.0.0.1"
    return settings.edge_data_host


def _issue_into(
    context: ssl.SSLContext, ca: CertificateAuthority, names: list[str], days: timedelta
) -> None:
    issued = ca.issue_server(names, datetime.now(UTC), validity=days)
    assert issued.key_pem is not None
    load_chain_pem(context, issued.cert_pem + issued.ca_pem, issued.key_pem)


class DataPortTls:
    """The data port's server context; `renew` replaces its certificate for new handshakes."""

    def __init__(self, settings: EdgeSettings, ca: CertificateAuthority) -> None:
        self.ca = ca
        host = advertised_host(settings)
        self.names = list(dict.fromkeys([host, "localhost", "127.0.0.1"]))
        self.context = server_context()
        self.renew()

    def renew(self) -> None:
        _issue_into(self.context, self.ca, self.names, CERT_VALIDITY)


def public_context(settings: EdgeSettings, ca: CertificateAuthority) -> ssl.SSLContext | None:
    """The public listener's HTTPS context, or None for plain HTTP."""
    if settings.public_tls_cert_file and settings.public_tls_key_file:
        context = server_context(ssl.TLSVersion.TLSv1_2)
        context.load_cert_chain(settings.public_tls_cert_file, settings.public_tls_key_file)
        return context
    if settings.public_tls_internal_ca:
        context = server_context(ssl.TLSVersion.TLSv1_2)
        domain = settings.public_domain
        _issue_into(context, ca, [f"*.{domain}", domain], timedelta(days=365))
        return context
    return None
