"""ECDSA P-256 keys and X.509 certificates as PEM: what the internal CA
(`agentplane.security.ca`) and its callers pass around, and the error a rejected one raises.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

PrivateKey = ec.EllipticCurvePrivateKey


class CertificateRejected(Exception):
    """Not issued by this CA, not a client certificate, malformed, or outside its validity."""


@dataclass(frozen=True)
class IssuedCertificate:
    """A certificate as PEM with what callers record about it (never the private key)."""

    cert_pem: str
    serial: str
    expires_at: datetime
    ca_pem: str
    # Only set when the CA generated the key pair itself; shown once, never stored.
    key_pem: str | None = None


def new_private_key() -> PrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def private_key_pem(key: PrivateKey) -> str:
    """PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`), unencrypted: it is handed out only once."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def public_key_pem(key: PrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def serial_hex(cert: x509.Certificate) -> str:
    """The serial number as lowercase hex: the credential id recorded for a certificate."""
    return format(cert.serial_number, "x")


def common_name(cert: x509.Certificate) -> str | None:
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else None


def load_certificate(pem: str | bytes) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(pem.encode() if isinstance(pem, str) else pem)
    except ValueError as exc:
        raise CertificateRejected("not a PEM certificate") from exc


def certificate_pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def load_public_key(pem: str) -> ec.EllipticCurvePublicKey:
    try:
        key = serialization.load_pem_public_key(pem.encode())
    except ValueError as exc:
        raise CertificateRejected("not a PEM public key") from exc
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise CertificateRejected("only ECDSA P-256 public keys are certified")
    return key
