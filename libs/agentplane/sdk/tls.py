"""TLS settings of a client: whom to trust and which client certificate to present."""

from __future__ import annotations

import ssl
from pathlib import Path

# True (system CAs), False (no verification), a CA bundle path, or a ready SSLContext.
Verify = bool | str | ssl.SSLContext
# A PEM file holding certificate and key, or (certificate file, key file).
Cert = str | tuple[str, str] | None


def ssl_context(verify: Verify, cert: Cert) -> ssl.SSLContext | bool:
    """What httpx's `verify` takes: a context when a CA file or client certificate is given."""
    if isinstance(verify, ssl.SSLContext):
        context = verify
    elif isinstance(verify, str):
        context = ssl.create_default_context(cafile=verify)
    elif cert is None:
        return verify
    else:
        context = ssl.create_default_context()
        if not verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
    if cert is not None:
        certfile, keyfile = (cert, None) if isinstance(cert, str) else cert
        context.load_cert_chain(certfile, keyfile)
    return context


def agent_ssl_context(ca_pem: str, cert_pem: str, key_pem: str, directory: Path) -> ssl.SSLContext:
    """The context of a seed 002 agent on the mTLS port: trust the control plane's CA, present
    the certificate from the registration. The key is written to `directory` (mode 0600),
    since `ssl` loads keys only from files."""
    directory.mkdir(parents=True, exist_ok=True)
    cert_file, key_file = directory / "agent.crt", directory / "agent.key"
    cert_file.write_text(cert_pem)
    key_file.touch(mode=0o600)
    key_file.chmod(0o600)
    key_file.write_text(key_pem)
    context = ssl.create_default_context(cadata=ca_pem)
    context.load_cert_chain(cert_file, key_file)
    return context
