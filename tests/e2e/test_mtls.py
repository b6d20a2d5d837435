"""mTLS for orchestrator agents: real TLS handshakes against the terminator `make run` starts
when `AGENTPLANE_TLS_PORT` is set.

An agent registers over plain HTTP (it has no certificate yet), then talks to the TLS port with
the certificate and key from its registration. Without a certificate, or with one of another
CA, the handshake fails; with a revoked one (deleted agent) the request is refused.
"""

from __future__ import annotations

import socket
import ssl
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from agentplane.security.ca import (
    CertificateAuthority,
)
from agentplane.security.certificates import (
    new_private_key,
    private_key_pem,
)
from agentplane.testing.plugin import create_workspace
from agentplane.testing.system import RunningSystem, free_port

pytestmark = pytest.mark.system

DOC_BODY = {
    "name": "agent-prod-01",
    "version": "1.0.0",
    "capabilities": ["docker", "compose"],
    "labels": {"datacenter": "us-east-1", "role": "deployment"},
}
REFUSED = (ssl.SSLError, ConnectionResetError, BrokenPipeError, ConnectionAbortedError)


class TlsSystem:
    def __init__(self, system: RunningSystem, port: int) -> None:
        self.system = system
        self.port = port
        self.url = f"https://127.0.0.1:{port}"
        self.http = httpx.Client(base_url=system.base_url, timeout=30.0)
        self.workspace = create_workspace(self.http, system.admin_token)

    def register(self, name: str | None = None) -> dict[str, Any]:
        headers = {"x-api-key": self.workspace["apiKey"]}
        token = self.http.post(
            "/v1/enrollment-tokens", json={"kind": "registration"}, headers=headers
        ).json()["token"]
        response = self.http.post(
            "/api/v1/agents/register",
            json={**DOC_BODY, "name": name or f"tls-{uuid.uuid4().hex[:8]}"},
            headers={"X-Agent-Token": token, "Content-Type": "application/json"},
        )
        assert response.status_code == 201, response.text
        return response.json()

    def operator(self) -> dict[str, str]:
        return {"x-api-key": self.workspace["apiKey"]}


def wait_listening(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1.0):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listens on TLS port {port}")


@pytest.fixture(scope="module")
def tls(system_factory: Callable[..., RunningSystem]) -> Iterator[TlsSystem]:
    port = free_port()
    system = system_factory(env={"AGENTPLANE_TLS_PORT": str(port)})
    wait_listening(port)
    running = TlsSystem(system, port)
    yield running
    running.http.close()


def client_context(
    ca_pem: str, tmp_path: Path, cert_pem: str | None = None, key_pem: str | None = None
) -> ssl.SSLContext:
    """What an agent does with its registration's `certificate`: trust `ca`, present `cert`."""
    context = ssl.create_default_context(cadata=ca_pem)
    if cert_pem is not None and key_pem is not None:
        cert_file, key_file = tmp_path / f"{uuid.uuid4().hex}.crt", tmp_path / "agent.key"
        cert_file.write_text(cert_pem)
        key_file.write_text(key_pem)
        context.load_cert_chain(cert_file, key_file)
    return context


def agent_context(agent: dict[str, Any], tmp_path: Path) -> ssl.SSLContext:
    certificate = agent["certificate"]
    return client_context(certificate["ca"], tmp_path, certificate["cert"], certificate["key"])


def raw_exchange(port: int, context: ssl.SSLContext, host: str = "127.0.0.1") -> bytes:
    """One HTTP request over a fresh TLS connection; the raw answer (b"" if none)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        with context.wrap_socket(sock, server_hostname=host) as conn:
            conn.sendall(b"GET /health HTTP/1.1\r\nHost: agentplane\r\nConnection: close\r\n\r\n")
            answer = b""
            while chunk := conn.recv(65536):
                answer += chunk
            return answer


def assert_handshake_refused(port: int, context: ssl.SSLContext) -> None:
    # With TLS 1.3 the client may finish its side of the handshake before the server's alert
    # arrives; either way no HTTP answer ever comes back.
    try:
        answer = raw_exchange(port, context)
    except REFUSED:
        return
    assert answer == b"", answer[:200]


# -- valid certificates -----------------------------------------------------------------


def test_valid_certificate_reaches_the_agents_own_endpoint(tls: TlsSystem, tmp_path: Path) -> None:
    agent = tls.register()
    with httpx.Client(base_url=tls.url, verify=agent_context(agent, tmp_path)) as client:
        # The certificate alone identifies the agent: no token, no key.
        own = client.get(f"/api/v1/agents/{agent['agentId']}")
        assert own.status_code == 200, own.text
        assert own.json()["id"] == agent["agentId"]
        # Keep-alive: every request on the connection carries the verified identity.
        again = client.get(f"/api/v1/agents/{agent['agentId']}")
        assert again.status_code == 200
        assert client.get("/health").status_code == 200
        updated = client.put(
            f"/api/v1/agents/{agent['agentId']}", json={"labels": {"over": "mtls"}}
        )
        assert updated.status_code == 200 and updated.json()["labels"] == {"over": "mtls"}


def test_server_certificate_is_issued_by_the_ca_for_localhost(
    tls: TlsSystem, tmp_path: Path
) -> None:
    agent = tls.register()
    context = agent_context(agent, tmp_path)
    for host in ("127.0.0.1", "localhost"):
        assert raw_exchange(tls.port, context, host=host).startswith(b"HTTP/1.1 200")


def test_a_certificate_is_no_pass_to_other_agents(tls: TlsSystem, tmp_path: Path) -> None:
    me, peer = tls.register(), tls.register()
    with httpx.Client(base_url=tls.url, verify=agent_context(me, tmp_path)) as client:
        other = client.get(f"/api/v1/agents/{peer['agentId']}")
        assert other.status_code == 403, other.text
        # Headers claiming another identity are dropped by the terminator.
        smuggled = client.get(
            f"/api/v1/agents/{peer['agentId']}",
            headers={
                "X-Agentplane-Client-Cert-CN": peer["agentId"],
                "X-Agentplane-Client-Cert-Serial": "1",
                "X-Client-Cert-CN": peer["agentId"],
            },
        )
        assert smuggled.status_code == 403, smuggled.text
        assert client.get("/api/v1/agents").status_code == 403
        # A bearer token of another agent does not combine with this certificate.
        mixed = client.get(
            f"/api/v1/agents/{peer['agentId']}",
            headers={"Authorization": f"Bearer {peer['token']}"},
        )
        assert mixed.status_code == 403, mixed.text


# -- refused certificates ---------------------------------------------------------------


def test_no_client_certificate_fails_the_handshake(tls: TlsSystem, tmp_path: Path) -> None:
    agent = tls.register()
    assert_handshake_refused(tls.port, client_context(agent["certificate"]["ca"], tmp_path))
    with (
        pytest.raises(httpx.TransportError),
        httpx.Client(
            base_url=tls.url, verify=client_context(agent["certificate"]["ca"], tmp_path)
        ) as client,
    ):
        client.get("/health")


def test_certificate_of_another_ca_fails_the_handshake(tls: TlsSystem, tmp_path: Path) -> None:
    agent = tls.register()
    # Same agent id, same shape, but signed by a CA this control plane does not trust.
    foreign = CertificateAuthority.load_or_create(tmp_path / "foreign-ca")
    forged = foreign.issue_client(agent["agentId"], datetime.now(UTC))
    assert forged.key_pem is not None
    context = client_context(agent["certificate"]["ca"], tmp_path, forged.cert_pem, forged.key_pem)
    assert_handshake_refused(tls.port, context)


def test_a_key_that_does_not_match_the_certificate_is_refused(
    tls: TlsSystem, tmp_path: Path
) -> None:
    agent = tls.register()
    certificate = agent["certificate"]
    with pytest.raises(ssl.SSLError):
        client_context(
            certificate["ca"], tmp_path, certificate["cert"], private_key_pem(new_private_key())
        )


def test_revoked_certificate_is_refused(tls: TlsSystem, tmp_path: Path) -> None:
    agent = tls.register()
    context = agent_context(agent, tmp_path)
    path = f"/api/v1/agents/{agent['agentId']}"
    with httpx.Client(base_url=tls.url, verify=context) as client:
        assert client.get(path).status_code == 200
        deleted = tls.http.delete(path, headers=tls.operator())
        assert deleted.json() == {"deleted": True}
        # The open connection: the gateway checks the serial again on every request.
        assert client.get(path).status_code == 401
    # A new connection: the terminator refuses the revoked certificate outright.
    answer = raw_exchange(tls.port, context)
    assert answer.startswith(b"HTTP/1.1 403"), answer[:200]
    assert b"revoked" in answer
    with httpx.Client(base_url=tls.url, verify=context) as client:
        response = client.get("/health")
        assert response.status_code == 403
        assert response.json()["kind"] == "forbidden"


def test_ca_signed_certificate_not_issued_to_an_agent_is_refused(
    tls: TlsSystem, tmp_path: Path
) -> None:
    agent = tls.register()
    # Signed by the right CA, but its serial was never recorded as an agent's credential.
    ca = CertificateAuthority.load_or_create(tls.system.data_dir)
    stray = ca.issue_client(agent["agentId"], datetime.now(UTC))
    assert stray.key_pem is not None
    context = client_context(ca.ca_pem, tmp_path, stray.cert_pem, stray.key_pem)
    assert raw_exchange(tls.port, context).startswith(b"HTTP/1.1 403")
    # A server certificate of the same CA is no client identity either.
    server = ca.issue_server(["127.0.0.1"], datetime.now(UTC))
    assert server.key_pem is not None
    context = client_context(ca.ca_pem, tmp_path, server.cert_pem, server.key_pem)
    try:
        answer = raw_exchange(tls.port, context)
    except REFUSED:
        return
    assert answer == b"" or answer.startswith(b"HTTP/1.1 403"), answer[:200]
