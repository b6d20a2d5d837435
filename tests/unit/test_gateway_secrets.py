"""Least secret per process: the gateway holds its own forwarding secret, never server.key."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

from starlette.requests import Request

from agentplane.gateway.app import create_app
from agentplane.gateway.client_certificates import (
    CLIENT_CN_HEADER,
    CLIENT_SERIAL_HEADER,
    FORWARDING_KEY_FILE,
    FORWARDING_SECRET_HEADER,
    forwarding_secret,
    verified_client_certificate,
)
from agentplane.security.server_key import KEY_FILE, server_key
from agentplane.settings import Settings


def test_the_gateway_starts_without_reading_or_creating_server_key(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    app = create_app(settings)
    assert not (tmp_path / KEY_FILE).exists(), "the gateway created server.key"
    key_file = tmp_path / FORWARDING_KEY_FILE
    assert key_file.stat().st_mode & 0o777 == 0o600
    secret = app.state.tls_forwarding_secret
    assert secret == key_file.read_text().strip() and len(secret) == 64
    # The terminator, started from the same data dir, sends the very same secret.
    assert forwarding_secret(settings) == secret


def test_knowing_server_key_forges_no_client_certificate(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    app = create_app(settings)
    # What the forwarding secret used to be: a function of the registry's key.
    old = hmac.new(
        server_key(tmp_path), b"agentplane/tls-terminator-forwarding", hashlib.sha256
    ).hexdigest()
    assert old != app.state.tls_forwarding_secret

    def forwarded(secret: str) -> Request:
        headers = {
            FORWARDING_SECRET_HEADER: secret,
            CLIENT_CN_HEADER: "agent-1",
            CLIENT_SERIAL_HEADER: "01",
        }
        raw = [(k.encode(), v.encode()) for k, v in headers.items()]
        return Request({"type": "http", "headers": raw, "app": app})

    assert verified_client_certificate(forwarded(old)) is None
    assert verified_client_certificate(forwarded(app.state.tls_forwarding_secret)) is not None
