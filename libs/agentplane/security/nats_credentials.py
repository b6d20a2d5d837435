"""The NATS bus's own credentials: who may connect besides agents, and the callout's issuer key.

The launcher generates them once into `<data dir>/nats-auth/` (directory 0700, file 0600);
every process of the same data dir reads them from there. With an external NATS (compose,
deploy/) they come from `AGENTPLANE_NATS_*` settings instead. Passwords carry the `ap_nats_`
prefix and a checksum, so the end-of-suite secret scan finds any that leaks into a log.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path

import nkeys

from agentplane.security.secrets import new_secret
from agentplane.settings import RegistrySettings, Settings, SharedSettings

NATS_PASSWORD_PREFIX = "ap_nats_"
AUTH_DIR = "nats-auth"
CREDENTIALS_FILE = "nats_credentials.json"
NATS_CONFIG_FILE = "nats-server.conf"

# Fixed user names: the config, the services and the registry's callout agree on them.
SERVICE_USER = "agentplane"
CALLOUT_USER = "auth-callout"
SYSTEM_USER = "sys"
OBSERVER_USER = "observer"
ROLES = ("service", "observer")


def new_account_seed() -> str:
    """A fresh NATS account nkey seed (`SA…`): signs the callout's user JWTs."""
    return nkeys.encode_seed(secrets.token_bytes(32), nkeys.PREFIX_BYTE_ACCOUNT).decode()


def account_public_key(seed: str) -> str:
    """The account's public nkey (`A…`), the `issuer` of the server's auth_callout block."""
    return nkeys.from_seed(seed.encode()).public_key.decode()


@dataclass(frozen=True)
class NatsCredentials:
    """Every password of the bus's static users and the callout issuer seed."""

    service_password: str
    callout_password: str
    system_password: str
    observer_password: str
    issuer_seed: str

    @classmethod
    def generate(cls) -> NatsCredentials:
        return cls(
            service_password=new_secret(NATS_PASSWORD_PREFIX),
            callout_password=new_secret(NATS_PASSWORD_PREFIX),
            system_password=new_secret(NATS_PASSWORD_PREFIX),
            observer_password=new_secret(NATS_PASSWORD_PREFIX),
            issuer_seed=new_account_seed(),
        )

    @property
    def issuer_public_key(self) -> str:
        return account_public_key(self.issuer_seed)


def auth_dir(data_dir: Path) -> Path:
    path = data_dir / AUTH_DIR
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    # mkdir's mode is masked by the umask and ignored for an existing directory.
    path.chmod(0o700)
    return path


def write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read, atomically (never briefly world-readable)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    tmp.replace(path)


def load_or_create(data_dir: Path) -> NatsCredentials:
    """The data dir's credentials, generated on first use; a restart keeps them."""
    path = auth_dir(data_dir) / CREDENTIALS_FILE
    if not path.exists():
        write_private(path, json.dumps(asdict(NatsCredentials.generate()), indent=2))
    return NatsCredentials(**json.loads(path.read_text()))


def load(data_dir: Path) -> NatsCredentials | None:
    """The data dir's credentials, or None when this data dir runs no embedded NATS."""
    path = data_dir / AUTH_DIR / CREDENTIALS_FILE
    if not path.exists():
        return None
    return NatsCredentials(**json.loads(path.read_text()))


@dataclass(frozen=True)
class ClientCredential:
    """What one process presents when it connects (None: connect anonymously)."""

    user: str | None = None
    password: str | None = None


def service_credential(settings: SharedSettings) -> ClientCredential:
    """The service user's credential: from settings (external NATS), else the data dir."""
    if settings.nats_user and settings.nats_password:
        return ClientCredential(settings.nats_user, settings.nats_password)
    stored = load(settings.data_dir.resolve())
    if stored is None:
        return ClientCredential()
    return ClientCredential(SERVICE_USER, stored.service_password)


def role_credential(settings: Settings, role: str) -> ClientCredential:
    """The credential of a role a person may ask for: `service` or read-only `observer`."""
    if role == "service":
        return service_credential(settings)
    if role != "observer":
        raise ValueError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
    if settings.nats_observer_password:
        return ClientCredential(OBSERVER_USER, settings.nats_observer_password)
    stored = load(settings.data_dir.resolve())
    if stored is None:
        return ClientCredential()
    return ClientCredential(OBSERVER_USER, stored.observer_password)


@dataclass(frozen=True)
class CalloutSecrets:
    """What the registry needs to answer the auth callout and to close connections."""

    callout_password: str
    system_password: str
    issuer_seed: str


def callout_secrets(settings: RegistrySettings) -> CalloutSecrets | None:
    """From settings when all three are set, else the data dir; None: the bus has no callout."""
    if (
        settings.nats_callout_password
        and settings.nats_system_password
        and settings.nats_issuer_seed
    ):
        return CalloutSecrets(
            settings.nats_callout_password, settings.nats_system_password, settings.nats_issuer_seed
        )
    stored = load(settings.data_dir.resolve())
    if stored is None:
        return None
    return CalloutSecrets(stored.callout_password, stored.system_password, stored.issuer_seed)
