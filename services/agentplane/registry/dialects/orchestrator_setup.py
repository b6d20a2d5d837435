"""The seed 002 use cases as the registry runs them: the data dir's CA, a JWT key derived from
the server key, and the agent settings from `AGENTPLANE_ORCHESTRATOR_*`.
"""

from __future__ import annotations

from datetime import timedelta

from agentplane.contracts.orchestrator import (
    OrchestratorConfig,
)
from agentplane.registry.application import Registry
from agentplane.registry.dialects.orchestrator import OrchestratorAgents
from agentplane.security.ca import (
    CertificateAuthority,
)
from agentplane.security.jwt_tokens import AgentJwtSigner, jwt_signing_key
from agentplane.settings import RegistrySettings


def build_orchestrator(settings: RegistrySettings, registry: Registry) -> OrchestratorAgents:
    """The seed 002 use cases with the data dir's CA and a JWT key derived from the server key."""
    return OrchestratorAgents(
        registry,
        CertificateAuthority.load_or_create(settings.service_data_dir()),
        AgentJwtSigner(
            jwt_signing_key(registry.key), timedelta(seconds=settings.orchestrator_jwt_ttl_seconds)
        ),
        OrchestratorConfig(
            heartbeat_interval=settings.orchestrator_heartbeat_interval_seconds,
            task_poll_interval=settings.orchestrator_task_poll_interval_seconds,
            log_level=settings.orchestrator_log_level,
        ),
        cert_validity=timedelta(seconds=settings.orchestrator_cert_ttl_seconds),
        renew_before=timedelta(seconds=settings.orchestrator_cert_renew_before_seconds),
    )
