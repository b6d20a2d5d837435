"""What every agentplane process reads: where its data, NATS and event store are."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class SharedSettings(BaseSettings):
    """The base of every process's settings (`AGENTPLANE_*`, and `NATS_URL`); build one in a
    composition root, never at import."""

    model_config = SettingsConfigDict(env_prefix="AGENTPLANE_", extra="ignore", frozen=True)

    data_dir: Path = Path(".data")
    nats_url: str | None = Field(
        default=None, validation_alias=AliasChoices("NATS_URL", "AGENTPLANE_NATS_URL")
    )
    request_timeout: float = 5.0
    # NATS credentials for an external NATS (compose, deploy/); with the embedded nats-server
    # they are generated into the data dir and these stay unset. Services, gateway and CLI
    # connect as `nats_user`.
    nats_user: str | None = None
    nats_password: str | None = None

    event_store: Literal["sqlite", "postgres"] = "sqlite"
    postgres_host: str = "127.0.0.1"
    postgres_port: int = 5432
    postgres_user: str = "agentplane"
    postgres_password: str = ""
    postgres_db: str = "agentplane"

    # Only tests may run an event store in memory; startup refuses it otherwise.
    allow_memory_store: bool = False
    log_level: str = "INFO"

    def service_data_dir(self) -> Path:
        path = self.data_dir.resolve()
        path.mkdir(parents=True, exist_ok=True)
        return path
