"""Settings of the edge (data plane, DESIGN §2)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from agentplane.settings.addresses import Addresses


class EdgeSettings(Addresses):
    """What the edge reads: tunnel listeners on the catalog's tunnel ports (on `tunnel_host`),
    the data port agents dial back to for each visitor connection, and the public HTTP(S)
    listener that routes `pc-<subdomain>.<public_domain>` hosts."""

    edge_data_host: str = "127.0.0.1"
    # 0: any free port (each tunnel.open tells the agent the port).
    edge_data_port: int = Field(default=0, ge=0, le=65535)
    # The address agents dial (in tunnel.open; the data port's certificate names it);
    # default: `edge_data_host`, or 127.0.0.1 when that is a wildcard address.
    edge_data_advertise_host: str | None = None
    # `always`: every data connection is TLS (internal CA). `off-loopback`: an agent on the
    # edge's own loopback dials plain TCP (still with its one-time token), like NATS there.
    edge_data_tls: Literal["always", "off-loopback"] = "off-loopback"
    # The edge reloads its routes on every `service.*` integration event and this often.
    edge_routes_refresh_seconds: float = Field(default=5.0, gt=0)
    # How long a visitor connection waits for the agent's data connection.
    edge_open_timeout_seconds: float = Field(default=10.0, gt=0)
    # The public HTTP(S) listener (off when unset): HTTPS with the wildcard certificate of
    # `public_tls_cert_file`/`public_tls_key_file`, or one the internal CA issues for
    # `*.<public_domain>` when `public_tls_internal_ca`; plain HTTP otherwise.
    public_http_port: int | None = Field(default=None, ge=0, le=65535)
    public_http_host: str = "127.0.0.1"
    public_tls_cert_file: Path | None = None
    public_tls_key_file: Path | None = None
    public_tls_internal_ca: bool = False
