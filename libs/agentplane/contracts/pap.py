"""Wire models of PAP agents (seed 004): managed agents created with a workspace key."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, get_args
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from agentplane.contracts.idempotency import Idempotency
from agentplane.contracts.paging import PageQuery

# A DNS label (RFC 1123): what Kubernetes accepts as a deployment name and a host label.
DNS_LABEL_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
DNS_LABEL_MAX = 63
# A Kubernetes quantity without sign or exponent: "100m", "0.5", "256Mi", "1Gi".
QUANTITY_PATTERN = r"^([0-9]+(\.[0-9]+)?|\.[0-9]+)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$"
DEFAULT_IMAGE = "nginxinc/nginx-unprivileged:alpine"
PAP_DIALECT = "pap"
# The heartbeat modes of seed 004; how long each may stay silent is the heartbeat service's
# policy (heartbeat/domain/deadlines.py), how often it beats the agent's (agent/pap.py).
PapMode = Literal["EMERGENCY", "IDLE", "SLEEP"]
HEARTBEAT_MODES: tuple[str, ...] = get_args(PapMode)
# The line the reference agent logs in PAP mode once it runs (signal handlers installed): the
# local provisioner's "the process is up".
PAP_AGENT_READY = "PAP agent running"


class PapResources(BaseModel):
    """Kubernetes resource requests and limits, with the documented defaults."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    cpu_request: str = Field(default="100m", pattern=QUANTITY_PATTERN, max_length=32)
    memory_request: str = Field(default="256Mi", pattern=QUANTITY_PATTERN, max_length=32)
    cpu_limit: str = Field(default="1000m", pattern=QUANTITY_PATTERN, max_length=32)
    memory_limit: str = Field(default="1Gi", pattern=QUANTITY_PATTERN, max_length=32)


class CreatePapAgent(BaseModel):
    """Create a PAP agent in a workspace; the name is unique among its live agents."""

    model_config = ConfigDict(frozen=True)

    workspace_id: str
    name: str = Field(pattern=DNS_LABEL_PATTERN, max_length=DNS_LABEL_MAX)
    description: str | None = Field(default=None, max_length=1000)
    image: str = Field(default=DEFAULT_IMAGE, min_length=1, max_length=512)
    resources: PapResources = Field(default_factory=PapResources)
    # A retry with the same Idempotency-Key gets the first answer, never a second agent.
    idempotency: Idempotency | None = None


class ListPapAgents(PageQuery):
    """A page of the PAP agents of a workspace, terminated ones included, oldest first."""

    model_config = ConfigDict(frozen=True)

    workspace_id: str


class GetPapAgent(BaseModel):
    """One PAP agent of a workspace; not_found for other workspaces and other dialects."""

    model_config = ConfigDict(frozen=True)

    workspace_id: str
    agent_id: UUID


class TerminatePapAgent(BaseModel):
    """Terminate a PAP agent; the record stays with state TERMINATED."""

    model_config = ConfigDict(frozen=True)

    workspace_id: str
    agent_id: UUID


class PapAgent(BaseModel):
    """A PAP agent as the registry knows it: `state` NEW or TERMINATED; the gateway fills in
    `state`, `activated_at` (lifecycle service) and `last_heartbeat_at` (heartbeat service)."""

    model_config = ConfigDict(frozen=True)

    uuid: UUID
    name: str
    dns_name: str
    state: str
    kubernetes_namespace: str
    kubernetes_deployment: str
    created_at: datetime
    provisioned_at: datetime | None = None
    activated_at: datetime | None = None
    terminated_at: datetime | None = None
    last_heartbeat_at: datetime | None = None
    metadata: dict[str, Any]


class PapAgentCreated(BaseModel):
    """The new agent, in state NEW."""

    model_config = ConfigDict(frozen=True)

    agent: PapAgent


class PapAgentList(BaseModel):
    """A page of PAP agents of a workspace, oldest first; `next_after` None on the last."""

    model_config = ConfigDict(frozen=True)

    agents: list[PapAgent]
    next_after: str | None = None


class PapAgentDetails(BaseModel):
    """One agent as the registry knows it (history and telemetry come from other services)."""

    model_config = ConfigDict(frozen=True)

    agent: PapAgent


class PapAgentTerminated(BaseModel):
    """The terminated agent; `already` when an earlier request had terminated it."""

    model_config = ConfigDict(frozen=True)

    agent: PapAgent
    already: bool
