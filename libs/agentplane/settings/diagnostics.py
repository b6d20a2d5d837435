"""Settings of the diagnostics service (seed 001 checks)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from agentplane.settings.addresses import Addresses


class DiagnosticsSettings(Addresses):
    """What the diagnostics service reads.

    Every service is checked from the hub every `check_interval` seconds (0: never);
    `check_failure_threshold` failed checks in a row turn an active service `error`,
    `check_success_threshold` passed ones turn it back (the first check decides at once).
    `diagnostics_ca_file` adds a trusted CA for TLS checks (e.g. an internal CA).
    `diagnostics_scheduler`: this replica runs the periodic checks (one replica should).
    """

    check_interval_seconds: float = Field(default=60.0, ge=0)
    check_timeout_seconds: float = Field(default=5.0, gt=0)
    check_failure_threshold: int = Field(default=3, ge=1)
    check_success_threshold: int = Field(default=1, ge=1)
    check_concurrency: int = Field(default=100, ge=1)
    diagnostics_ca_file: Path | None = None
    diagnostics_scheduler: bool = True
