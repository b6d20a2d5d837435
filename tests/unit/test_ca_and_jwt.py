"""The internal CA (issue, verify, renew, race-safe creation) and orchestrator agent JWTs."""

from __future__ import annotations

import base64
import stat
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from uuid import uuid4

import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID
from starlette.requests import Request

from agentplane.gateway.client_certificates import (
    CLIENT_CERT_HEADER,
    CLIENT_CN_HEADER,
    CLIENT_SERIAL_HEADER,
    FORWARDING_SECRET_HEADER,
    der_to_pem,
    verified_client_certificate,
)
from agentplane.security.ca import (
    CA_CERT_FILE,
    CA_KEY_FILE,
    CertificateAuthority,
)
from agentplane.security.certificates import (
    CertificateRejected,
    new_private_key,
    public_key_pem,
)
from agentplane.security.jwt_tokens import AgentJwtSigner, InvalidAgentJwt, jwt_signing_key

NOW = datetime(2026, 1, 10, 14, 23, 45, tzinfo=UTC)


@pytest.fixture
def ca(tmp_path: Path) -> CertificateAuthority:
    return CertificateAuthority.load_or_create(tmp_path)


def _ca_pem(data_dir: str) -> str:
    return CertificateAuthority.load_or_create(Path(data_dir)).ca_pem


def test_ca_is_created_once_kept_in_the_data_dir_and_key_is_owner_only(tmp_path: Path) -> None:
    first = CertificateAuthority.load_or_create(tmp_path)
    assert stat.S_IMODE((tmp_path / CA_KEY_FILE).stat().st_mode) == 0o600
    assert (tmp_path / CA_CERT_FILE).read_text().startswith("-----BEGIN CERTIFICATE-----")
    again = CertificateAuthority.load_or_create(tmp_path)
    assert again.ca_pem == first.ca_pem
    cert = x509.load_pem_x509_certificate(first.ca_pem.encode())
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


def test_concurrent_first_starts_agree_on_one_ca(tmp_path: Path) -> None:
    with ProcessPoolExecutor(4) as pool:
        pems = set(pool.map(_ca_pem, [str(tmp_path)] * 8))
    assert len(pems) == 1
    assert CertificateAuthority.load_or_create(tmp_path).ca_pem in pems


def test_client_certificate_names_the_agent_and_lasts_24_hours(ca: CertificateAuthority) -> None:
    agent_id = str(uuid4())
    issued = ca.issue_client(agent_id, NOW)
    cert = x509.load_pem_x509_certificate(issued.cert_pem.encode())
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == agent_id
    assert issued.serial == format(cert.serial_number, "x") and cert.serial_number > 0
    assert issued.expires_at == NOW + timedelta(hours=24)
    assert issued.ca_pem == ca.ca_pem
    assert issued.key_pem is not None and issued.key_pem.startswith("-----BEGIN PRIVATE KEY-----")
    key = serialization.load_pem_private_key(issued.key_pem.encode(), password=None)
    assert key.public_key().public_numbers() == cert.public_key().public_numbers()  # type: ignore[union-attr]
    assert ca.verify(issued.cert_pem, NOW + timedelta(hours=1)).serial_number == cert.serial_number


def test_serials_differ(ca: CertificateAuthority) -> None:
    assert len({ca.issue_client("a", NOW).serial for _ in range(20)}) == 20


def test_certificate_for_a_callers_public_key_carries_no_private_key(
    ca: CertificateAuthority,
) -> None:
    key = new_private_key()
    issued = ca.issue_client("agent", NOW, public_key=public_key_pem(key))
    assert issued.key_pem is None
    cert = x509.load_pem_x509_certificate(issued.cert_pem.encode())
    assert cert.public_key().public_numbers() == key.public_key().public_numbers()  # type: ignore[union-attr]


def test_rejects_foreign_expired_and_non_client_certificates(
    ca: CertificateAuthority, tmp_path: Path
) -> None:
    other = CertificateAuthority.load_or_create(tmp_path / "other")
    with pytest.raises(CertificateRejected):
        ca.verify(other.issue_client("agent", NOW).cert_pem, NOW)
    issued = ca.issue_client("agent", NOW)
    with pytest.raises(CertificateRejected):
        ca.verify(issued.cert_pem, NOW + timedelta(hours=24))
    with pytest.raises(CertificateRejected):
        ca.verify(issued.cert_pem, NOW - timedelta(hours=1))
    with pytest.raises(CertificateRejected):
        ca.verify(ca.issue_server(["localhost"], NOW).cert_pem, NOW)
    with pytest.raises(CertificateRejected):
        ca.verify("not a certificate", NOW)
    with pytest.raises(CertificateRejected):
        ca.issue_client("agent", NOW, public_key="not a key")


def test_renewal_only_within_the_last_hour_keeps_agent_and_key(ca: CertificateAuthority) -> None:
    issued = ca.issue_client("agent-1", NOW)
    assert ca.renew_if_due(issued.cert_pem, NOW) is None
    assert ca.renew_if_due(issued.cert_pem, NOW + timedelta(hours=22, minutes=59)) is None
    later = NOW + timedelta(hours=23, minutes=30)
    renewed = ca.renew_if_due(issued.cert_pem, later)
    assert renewed is not None and renewed.key_pem is None
    assert renewed.serial != issued.serial
    assert renewed.expires_at == later + timedelta(hours=24)
    old = x509.load_pem_x509_certificate(issued.cert_pem.encode())
    new = ca.verify(renewed.cert_pem, later)
    assert new.subject == old.subject
    assert new.public_key().public_numbers() == old.public_key().public_numbers()  # type: ignore[union-attr]
    with pytest.raises(CertificateRejected):
        ca.renew_if_due(issued.cert_pem, NOW + timedelta(hours=25))


def test_server_certificate_names_hosts_and_ips(ca: CertificateAuthority) -> None:
    issued = ca.issue_server(["localhost", "127.0.0.1"], NOW)
    cert = x509.load_pem_x509_certificate(issued.cert_pem.encode())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["localhost"]
    assert [str(ip) for ip in names.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]


# -- JWTs ----------------------------------------------------------------------------------


def test_jwt_carries_agent_workspace_jti_and_expiry() -> None:
    signer = AgentJwtSigner(jwt_signing_key(b"s" * 32), timedelta(hours=24))
    issued = signer.issue("agent-1", "ws_1", NOW)
    claims = signer.verify(issued.token, NOW + timedelta(hours=1))
    assert (claims.agent_id, claims.workspace_id, claims.jti) == ("agent-1", "ws_1", issued.jti)
    assert claims.expires_at == issued.expires_at == NOW + timedelta(hours=24)
    raw = jwt.decode(issued.token, options={"verify_signature": False})
    assert set(raw) == {"iss", "sub", "jti", "workspace", "iat", "exp"}
    assert jwt.get_unverified_header(issued.token)["alg"] == "HS256"


def test_jwt_rejects_expired_tampered_foreign_and_unsigned_tokens() -> None:
    key = jwt_signing_key(b"s" * 32)
    assert key != b"s" * 32
    signer = AgentJwtSigner(key)
    token = signer.issue("agent-1", "ws_1", NOW).token
    with pytest.raises(InvalidAgentJwt):
        signer.verify(token, NOW + timedelta(hours=24))
    with pytest.raises(InvalidAgentJwt):
        AgentJwtSigner(jwt_signing_key(b"t" * 32)).verify(token, NOW)
    header, _payload, signature = token.split(".")
    forged = jwt.encode(
        {**jwt.decode(token, options={"verify_signature": False}), "sub": "agent-2"},
        "w" * 32,
        algorithm="HS256",
    )
    for bad in (
        f"{header}.{forged.split('.')[1]}.{signature}",
        jwt.encode({"sub": "agent-1"}, key, algorithm="HS256"),
        jwt.encode(jwt.decode(token, options={"verify_signature": False}), None, algorithm="none"),
        "garbage",
        "",
    ):
        with pytest.raises(InvalidAgentJwt):
            signer.verify(bad, NOW)


# -- identity forwarded by the TLS terminator -----------------------------------------------


def _request(headers: dict[str, str], secret: str | None) -> Request:
    app = SimpleNamespace(state=SimpleNamespace(tls_forwarding_secret=secret))
    raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    return Request({"type": "http", "headers": raw, "app": app})


def test_forwarded_certificate_is_believed_only_with_the_terminator_secret(
    ca: CertificateAuthority,
) -> None:
    issued = ca.issue_client("agent-1", NOW)
    der = x509.load_pem_x509_certificate(issued.cert_pem.encode()).public_bytes(
        serialization.Encoding.DER
    )
    headers = {
        CLIENT_CN_HEADER: "agent-1",
        CLIENT_SERIAL_HEADER: issued.serial,
        CLIENT_CERT_HEADER: base64.b64encode(der).decode(),
        FORWARDING_SECRET_HEADER: "s3cret",
    }
    cert = verified_client_certificate(_request(headers, "s3cret"))
    assert cert is not None and (cert.common_name, cert.serial) == ("agent-1", issued.serial)
    assert cert.pem == der_to_pem(der) and cert.pem.strip() == issued.cert_pem.strip()
    assert verified_client_certificate(_request(headers, "other")) is None
    assert verified_client_certificate(_request(headers, None)) is None
    without_secret = {k: v for k, v in headers.items() if k != FORWARDING_SECRET_HEADER}
    assert verified_client_certificate(_request(without_secret, "s3cret")) is None
