"""The control plane's internal certificate authority for orchestrator agents (seed 002).

The CA key and certificate are created on first start and kept in the data dir (`ca.key`
0600, `ca.crt`), so every process that shares the data dir issues and trusts the same chain.
Keys are ECDSA P-256: generating one takes well under a millisecond, so a storm of
registrations does not queue behind key generation, and every TLS stack accepts them.
"""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from agentplane.security.certificates import (
    CertificateRejected,
    IssuedCertificate,
    PrivateKey,
    certificate_pem,
    common_name,
    load_certificate,
    load_public_key,
    new_private_key,
    private_key_pem,
    serial_hex,
)
from agentplane.security.secret_files import load_or_create_text_secret

CA_KEY_FILE = "ca.key"
CA_CERT_FILE = "ca.crt"
CA_COMMON_NAME = "agentplane internal CA"
CA_VALIDITY = timedelta(days=3650)
CLIENT_CERT_VALIDITY = timedelta(hours=24)
RENEW_BEFORE = timedelta(hours=1)
# Certificates start a little in the past so a peer whose clock lags slightly accepts them.
BACKDATE = timedelta(minutes=5)
_ORGANIZATION = "agentplane"


class CertificateAuthority:
    """Issues and verifies certificates under one CA key."""

    def __init__(self, key: PrivateKey, cert: x509.Certificate) -> None:
        self.key = key
        self.cert = cert
        self.ca_pem = certificate_pem(cert)

    @classmethod
    def load_or_create(cls, data_dir: Path) -> CertificateAuthority:
        """The CA of this data dir, created on first use.

        Creation is race-safe across processes: the key file is linked into place atomically
        and the first writer wins; the certificate is then derived from whichever key won, and
        its file is created the same way, so all processes end up with one chain.
        """
        key_text = load_or_create_text_secret(
            data_dir / CA_KEY_FILE, lambda: private_key_pem(new_private_key())
        )
        key = serialization.load_pem_private_key(key_text.encode(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError(f"{data_dir / CA_KEY_FILE} does not hold an EC private key")
        cert_text = load_or_create_text_secret(
            data_dir / CA_CERT_FILE, lambda: certificate_pem(_self_signed(key, datetime.now(UTC)))
        )
        cert = load_certificate(cert_text)
        if cert.public_key().public_numbers() != key.public_key().public_numbers():
            raise ValueError(f"{data_dir / CA_CERT_FILE} does not belong to {CA_KEY_FILE}")
        return cls(key, cert)

    # -- issuing ---------------------------------------------------------------------------

    def issue_client(
        self,
        agent_id: str,
        now: datetime,
        public_key: str | None = None,
        validity: timedelta = CLIENT_CERT_VALIDITY,
    ) -> IssuedCertificate:
        """A client certificate with the agent id as subject CN.

        With `public_key` (PEM) the caller keeps its private key to itself; without it a key
        pair is generated here and returned once in `key_pem`.
        """
        key: PrivateKey | None = None
        if public_key is None:
            key = new_private_key()
            subject_key = key.public_key()
        else:
            subject_key = load_public_key(public_key)
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, _ORGANIZATION),
                x509.NameAttribute(NameOID.COMMON_NAME, agent_id),
            ]
        )
        builder = self._builder(subject, subject_key, now, validity)
        builder = builder.add_extension(
            x509.BasicConstraints(ca=False, path_length=None), critical=True
        )
        builder = builder.add_extension(_leaf_key_usage(), critical=True)
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
        )
        cert = builder.sign(self.key, hashes.SHA256())
        return self._issued(cert, key)

    def issue_server(
        self, names: list[str], now: datetime, validity: timedelta = timedelta(days=30)
    ) -> IssuedCertificate:
        """A server certificate (key included) for the TLS terminator's host names and IPs."""
        key = new_private_key()
        alt_names: list[x509.GeneralName] = []
        for name in names:
            try:
                alt_names.append(x509.IPAddress(ipaddress.ip_address(name)))
            except ValueError:
                alt_names.append(x509.DNSName(name))
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, _ORGANIZATION),
                x509.NameAttribute(NameOID.COMMON_NAME, names[0]),
            ]
        )
        builder = self._builder(subject, key.public_key(), now, validity)
        builder = builder.add_extension(
            x509.BasicConstraints(ca=False, path_length=None), critical=True
        )
        builder = builder.add_extension(_leaf_key_usage(), critical=True)
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        builder = builder.add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        return self._issued(builder.sign(self.key, hashes.SHA256()), key)

    def _builder(
        self,
        subject: x509.Name,
        public_key: ec.EllipticCurvePublicKey,
        now: datetime,
        validity: timedelta,
    ) -> x509.CertificateBuilder:
        return (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self.cert.subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - BACKDATE)
            .not_valid_after(now + validity)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                critical=False,
            )
        )

    def _issued(self, cert: x509.Certificate, key: PrivateKey | None) -> IssuedCertificate:
        return IssuedCertificate(
            cert_pem=certificate_pem(cert),
            serial=serial_hex(cert),
            expires_at=cert.not_valid_after_utc,
            ca_pem=self.ca_pem,
            key_pem=private_key_pem(key) if key is not None else None,
        )

    # -- verifying and renewing ------------------------------------------------------------

    def verify(self, cert_pem: str | bytes, now: datetime) -> x509.Certificate:
        """The certificate, if this CA issued it as a client certificate valid at `now`."""
        cert = load_certificate(cert_pem)
        if cert.issuer != self.cert.subject:
            raise CertificateRejected("issued by another CA")
        try:
            cert.verify_directly_issued_by(self.cert)
        except (ValueError, TypeError, InvalidSignature) as exc:
            raise CertificateRejected("signature does not verify against the CA") from exc
        if not cert.not_valid_before_utc <= now < cert.not_valid_after_utc:
            raise CertificateRejected("outside its validity period")
        try:
            usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        except x509.ExtensionNotFound as exc:
            raise CertificateRejected("not a client certificate") from exc
        if ExtendedKeyUsageOID.CLIENT_AUTH not in usage:
            raise CertificateRejected("not a client certificate")
        if not common_name(cert):
            raise CertificateRejected("no subject common name")
        return cert

    def renew_if_due(
        self,
        cert_pem: str,
        now: datetime,
        renew_before: timedelta = RENEW_BEFORE,
        validity: timedelta = CLIENT_CERT_VALIDITY,
    ) -> IssuedCertificate | None:
        """A fresh certificate for the same agent and key when `cert_pem` expires within
        `renew_before`; None while it is not due. An invalid or expired one is rejected: the
        agent must register again.
        """
        cert = self.verify(cert_pem, now)
        if cert.not_valid_after_utc - now > renew_before:
            return None
        public_key = cert.public_key()
        assert isinstance(public_key, ec.EllipticCurvePublicKey)
        pem = public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()
        return self.issue_client(str(common_name(cert)), now, public_key=pem, validity=validity)


def _leaf_key_usage() -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=True,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )


def _self_signed(key: PrivateKey, now: datetime) -> x509.Certificate:
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, _ORGANIZATION),
            x509.NameAttribute(NameOID.COMMON_NAME, CA_COMMON_NAME),
        ]
    )
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + CA_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
