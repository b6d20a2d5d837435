"""Every setting of agentplane, parsed once at the edge from `AGENTPLANE_*` variables."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Process settings; build one with `Settings()` in a composition root, never at import."""

    model_config = SettingsConfigDict(env_prefix="AGENTPLANE_", extra="ignore", frozen=True)

    data_dir: Path = Path(".data")
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    admin_token: str | None = None

    nats_url: str | None = Field(
        default=None, validation_alias=AliasChoices("NATS_URL", "AGENTPLANE_NATS_URL")
    )
    request_timeout: float = 5.0

    event_store: Literal["sqlite", "postgres"] = "sqlite"
    postgres_host: str = "127.0.0.1"
    postgres_port: int = 5432
    postgres_user: str = "agentplane"
    postgres_password: str = ""
    postgres_db: str = "agentplane"

    agent_token_ttl_seconds: int = 86400

    # Seed 000 agents are expected to heartbeat every 30 s; three missed beats mean offline.
    heartbeat_interval_seconds: float = 30.0
    heartbeat_missed_beats: int = 3
    liveness_sweep_seconds: float = 1.0
    liveness_grace_seconds: float = 5.0

    # Only tests may run an event store in memory; startup refuses it otherwise.
    allow_memory_store: bool = False
    log_level: str = "INFO"

    @property
    def offline_after_seconds(self) -> float:
        return self.heartbeat_interval_seconds * self.heartbeat_missed_beats

    def service_data_dir(self) -> Path:
        path = self.data_dir.resolve()
        path.mkdir(parents=True, exist_ok=True)
        return path
