"""The auth callout's pure part and the admission checks, without a server (in memory)."""

from __future__ import annotations

import base64
import json
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import nkeys
import pytest
from nacl.signing import VerifyKey

from agentplane.contracts.agents import EnrollmentKind, IssueEnrollmentToken, ProvisionAgent
from agentplane.contracts.device import EnrollDevice
from agentplane.contracts.orchestrator import OrchestratorConfig, RegisterOrchestratorAgent
from agentplane.contracts.workspaces import CreateWorkspace
from agentplane.eventstore.views import SQLiteViewStore
from agentplane.registry.application import Registry, RegistryStore
from agentplane.registry.dialects.device import DeviceAgents
from agentplane.registry.dialects.orchestrator import OrchestratorAgents
from agentplane.registry.enrollment import Enrollment
from agentplane.registry.nats_auth.admission import NatsAdmission, NotAdmitted
from agentplane.registry.nats_auth.callout import (
    AuthRequest,
    InvalidAuthRequest,
    authorization_response,
    decode_request,
    encode_jwt,
    user_jwt,
)
from agentplane.registry.workspaces import Workspaces
from agentplane.security.ca import (
    CertificateAuthority,
)
from agentplane.security.certificates import (
    new_private_key,
    public_key_pem,
)
from agentplane.security.jwt_tokens import AgentJwtSigner, jwt_signing_key
from agentplane.security.nats_credentials import new_account_seed
from agentplane.security.signing import SigningKey

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
KEY = b"k" * 32


def keypair(prefix: int) -> nkeys.KeyPair:
    return nkeys.from_seed(nkeys.encode_seed(secrets.token_bytes(32), prefix))


def claims_of(token: str) -> dict[str, Any]:
    body = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))))


def verifies(token: str, public_key: str) -> bool:
    head, body, signature = token.split(".")
    raw = base64.b32decode(public_key + "=" * (-len(public_key) % 8))[1:33]
    sig = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
    VerifyKey(raw).verify(f"{head}.{body}".encode(), sig)
    return True


def server_request(server: nkeys.KeyPair, user: Any = "u", password: Any = "p") -> str:
    server_id = server.public_key.decode()
    claims = {
        "iat": int(NOW.timestamp()),
        "iss": server_id,
        "sub": server_id,
        "aud": "nats-authorization-request",
        "nats": {
            "server_id": {"name": "agentplane", "host": "127.0.0.1", "id": server_id},
            "user_nkey": "UCONNECTINGUSER",
            "connect_opts": {"user": user, "pass": password},
            "type": "authorization_request",
            "version": 2,
        },
    }
    return encode_jwt(claims, server)


@pytest.fixture
def server() -> nkeys.KeyPair:
    return keypair(nkeys.PREFIX_BYTE_SERVER)


@pytest.fixture
def issuer() -> nkeys.KeyPair:
    return nkeys.from_seed(new_account_seed().encode())


def test_a_request_signed_by_its_server_is_read(server: nkeys.KeyPair) -> None:
    request = decode_request(server_request(server, "agent", "secret"))
    assert request == AuthRequest(server.public_key.decode(), "UCONNECTINGUSER", "agent", "secret")
    # Anonymous: no user and no password, never empty strings that could compare equal.
    anonymous = decode_request(server_request(server, None, None))
    assert (anonymous.user, anonymous.password) == (None, None)


def test_forged_or_tampered_requests_are_rejected(server: nkeys.KeyPair) -> None:
    token = server_request(server)
    head, _, signature = token.split(".")
    claims = claims_of(token)
    claims["nats"]["connect_opts"]["user"] = "someone-else"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    with pytest.raises(InvalidAuthRequest):
        decode_request(f"{head}.{forged}.{signature}")
    other = keypair(nkeys.PREFIX_BYTE_SERVER)
    with pytest.raises(InvalidAuthRequest):
        # Signed by another key than the server it names.
        decode_request(encode_jwt(claims_of(server_request(server)), other))
    for junk in ("", "a.b", "a.b.c", "x" * 100):
        with pytest.raises(InvalidAuthRequest):
            decode_request(junk)


def test_the_user_jwt_grants_only_the_agents_own_subjects(
    server: nkeys.KeyPair, issuer: nkeys.KeyPair
) -> None:
    request = decode_request(server_request(server))
    agent = str(uuid4())
    expires = NOW + timedelta(hours=1)
    token = user_jwt(request, agent, issuer, NOW, expires)
    claims = claims_of(token)
    assert verifies(token, issuer.public_key.decode())
    assert (claims["sub"], claims["aud"], claims["name"]) == ("UCONNECTINGUSER", "APP", agent)
    assert claims["iss"] == issuer.public_key.decode()
    assert claims["exp"] == int(expires.timestamp())
    nats = claims["nats"]
    assert nats["pub"] == {"allow": [f"ap.agent.{agent}.>"]}
    assert nats["sub"] == {"allow": [f"ap.inbox.{agent}", f"_INBOX_{agent}.>"]}
    assert nats["resp"]["max"] == 1 and 0 < nats["resp"]["ttl"] <= 300 * 10**9
    assert (nats["type"], nats["version"]) == ("user", 2)
    assert "exp" not in claims_of(user_jwt(request, agent, issuer, NOW, None))


def test_the_response_carries_the_jwt_or_an_error(
    server: nkeys.KeyPair, issuer: nkeys.KeyPair
) -> None:
    request = decode_request(server_request(server))
    admitted = authorization_response(request, issuer, NOW, jwt="user.jwt.here").decode()
    refused = authorization_response(request, issuer, NOW, error="not authorized").decode()
    for token in (admitted, refused):
        claims = claims_of(token)
        assert verifies(token, issuer.public_key.decode())
        assert (claims["sub"], claims["aud"]) == ("UCONNECTINGUSER", server.public_key.decode())
        assert claims["nats"]["type"] == "authorization_response"
    assert claims_of(admitted)["nats"]["jwt"] == "user.jwt.here"
    assert "jwt" not in claims_of(refused)["nats"]
    assert claims_of(refused)["nats"]["error"] == "not authorized"


# -- admission with the registry's own checks ---------------------------------------------


@pytest.fixture
def admission(tmp_path: Path) -> NatsAdmission:
    registry = Registry(
        RegistryStore(allow_memory=True), SQLiteViewStore(tmp_path / "views.sqlite"), KEY
    )
    device = DeviceAgents(
        registry, SigningKey.load_or_create(tmp_path / "keys"), key_grace=timedelta(seconds=60)
    )
    orchestrator = OrchestratorAgents(
        registry,
        CertificateAuthority.load_or_create(tmp_path),
        AgentJwtSigner(jwt_signing_key(KEY)),
        OrchestratorConfig(heartbeat_interval=30, task_poll_interval=5, log_level="info"),
    )
    return NatsAdmission(registry, device, orchestrator)


def login(user: str | None, password: str | None) -> AuthRequest:
    return AuthRequest("NSERVER", "UUSER", user, password)


def credentials(admission: NatsAdmission) -> dict[str, tuple[str, str]]:
    """One agent of each dialect with a NATS credential: (agent id, credential)."""
    registry = admission.registry
    created, _ = Workspaces(registry).create_workspace(CreateWorkspace(name=f"ws-{uuid4().hex}"))
    ws = created.workspace_id
    token, _ = Enrollment(registry).provision_agent(
        ProvisionAgent(workspace_id=ws, client_type="cursor")
    )

    def one_time(kind: EnrollmentKind) -> str:
        issued, _ = Enrollment(registry).issue_enrollment_token(
            IssueEnrollmentToken(workspace_id=ws, kind=kind)
        )
        return issued.token

    enrolled, _ = admission.device.enroll(
        EnrollDevice(
            token=one_time(EnrollmentKind.ENROLLMENT),
            hostname="h",
            os="linux",
            arch="amd64",
            agent_version="1.0.0",
        )
    )
    registered, _ = admission.orchestrator.register(
        RegisterOrchestratorAgent(
            registration_token=one_time(EnrollmentKind.REGISTRATION),
            name="o",
            version="1.0.0",
            public_key_pem=public_key_pem(new_private_key()),
        )
    )
    return {
        "v1": (str(token.agent_id), token.token),
        "device": (str(enrolled.agent_id), enrolled.api_key),
        "orchestrator": (str(registered.agent_id), registered.token),
    }


def test_each_dialects_own_credential_admits_its_agent(admission: NatsAdmission) -> None:
    for dialect, (agent_id, secret) in credentials(admission).items():
        admitted, _ = admission.admit(login(agent_id, secret))
        assert (admitted.agent_id, admitted.dialect) == (agent_id, dialect)
        # Upper-case ids name the same agent; subjects use the canonical form.
        admitted, _ = admission.admit(login(agent_id.upper(), secret))
        assert admitted.agent_id == agent_id
    assert admission.admit(login(*credentials(admission)["v1"]))[0].expires_at is not None


def test_missing_wrong_and_foreign_credentials_are_refused(admission: NatsAdmission) -> None:
    agents = credentials(admission)
    v1, token = agents["v1"]
    device, key = agents["device"]
    orchestrator, jwt = agents["orchestrator"]
    refused = [
        login(None, None),
        login(v1, None),
        login(v1, ""),
        login(None, token),
        login("not-an-id", token),
        login(str(uuid4()), token),
        login(v1, token + "x"),
        login(v1, "x" * 100_000),
        # Another dialect's credential, even of the same agent kind of store.
        login(v1, key),
        login(device, token),
        login(orchestrator, key),
        # A live JWT of one agent is no credential of another.
        login(v1, jwt),
        login(device, jwt),
    ]
    for request in refused:
        with pytest.raises(NotAdmitted):
            admission.admit(request)
