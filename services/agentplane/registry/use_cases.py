"""Every use-case object of the registry, built once over one `Registry` (main wires them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from agentplane.registry.agents import Agents
from agentplane.registry.application import Registry
from agentplane.registry.capabilities import Capabilities
from agentplane.registry.catalog import Catalog
from agentplane.registry.credentials import AgentCredentials
from agentplane.registry.dialects.device import DeviceAgents
from agentplane.registry.dialects.orchestrator import (
    OrchestratorAgents,
)
from agentplane.registry.dialects.orchestrator_setup import (
    build_orchestrator,
)
from agentplane.registry.dialects.pap import PapAgents
from agentplane.registry.dialects.pap_reports import PapReports
from agentplane.registry.enrollment import Enrollment
from agentplane.registry.nats_auth.admission import NatsAdmission
from agentplane.registry.nats_auth.channel import ChannelAdmissions
from agentplane.registry.releases import Releases
from agentplane.registry.workspaces import Workspaces
from agentplane.security.signing import SigningKey
from agentplane.settings import RegistrySettings


@dataclass(frozen=True)
class UseCases:
    workspaces: Workspaces
    enrollment: Enrollment
    agents: Agents
    credentials: AgentCredentials
    capabilities: Capabilities
    catalog: Catalog
    releases: Releases
    device: DeviceAgents
    orchestrator: OrchestratorAgents
    pap: PapAgents
    pap_reports: PapReports
    admission: NatsAdmission
    channel: ChannelAdmissions


def build_use_cases(settings: RegistrySettings, registry: Registry) -> UseCases:
    # Seed 003: device agents, and agent releases signed with the control plane's Ed25519 key.
    signing_key = SigningKey.load_or_create(settings.service_data_dir())
    device = DeviceAgents(
        registry, signing_key, key_grace=timedelta(seconds=settings.device_key_grace_seconds)
    )
    # Seed 002: orchestrator agents, with the internal CA kept in the data dir.
    orchestrator = build_orchestrator(settings, registry)
    # Agents on NATS and on the HTTP channel are admitted by their own dialect's checks.
    admission = NatsAdmission(registry, device, orchestrator)
    pap = PapAgents(registry, registry.agent_domain)
    return UseCases(
        workspaces=Workspaces(registry),
        enrollment=Enrollment(registry),
        agents=Agents(registry),
        credentials=AgentCredentials(registry),
        capabilities=Capabilities(registry),
        # Seed 001: the service catalog (tunnel ports, public subdomains).
        catalog=Catalog(registry, settings.tunnel_port_range, settings.public_domain),
        releases=Releases(registry, signing_key),
        device=device,
        orchestrator=orchestrator,
        pap=pap,
        pap_reports=PapReports(pap),
        admission=admission,
        channel=ChannelAdmissions(admission),
    )
