"""Wire models of diagnostics (seed 001): hub checks, their history, and reach checks that an
agent runs from its own network (`Diagnostics.*` subjects; the reach request and result
travel over the agent channel as `reach.request` / `reach.result`)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from agentplane.contracts.service_health import ServiceHealth

HISTORY_DEFAULT = 50
# Results kept per service (older ones are dropped); also the largest `limit`.
HISTORY_RETENTION = 500
REACH_TIMEOUT_MS_DEFAULT = 5000
REACH_TIMEOUT_MS_MIN = 1000
REACH_TIMEOUT_MS_MAX = 30000
SESSIONS_DEFAULT = 50
# A caller of `Diagnostics.REACH` waits the request's timeout plus this (the agent's ack, the
# registry lookups, the result's trip back).
RESULT_SLACK_SECONDS_HINT = 5.0


class Perspective(StrEnum):
    """Where a check ran from."""

    HUB = "hub"
    AGENT = "agent"


class ReachMode(StrEnum):
    """What a reach check does: connect, connect and handshake TLS, or also GET over HTTP(S)."""

    TCP = "tcp"
    TLS = "tls"
    HTTP = "http"


class SessionOutcome(StrEnum):
    """How a reach session ended."""

    SUCCESS = "success"
    FAILURE = "failure"
    TIMEOUT = "timeout"


class Diagnostic(BaseModel):
    """One check's result; statuses are OK, FAILED, TIMEOUT or N/A (the step does not apply)."""

    model_config = ConfigDict(frozen=True)

    id: str  # "diag_<hex>"
    service_id: str
    perspective: Perspective
    source_agent: str | None = None  # the agent's name for a reach check
    source_agent_id: UUID | None = None
    tcp_status: str
    tcp_latency_ms: int | None = None
    tcp_error: str | None = None
    tls_status: str
    tls_error: str | None = None
    cert_expires_at: datetime | None = None
    http_status: str
    http_status_code: int | None = None
    http_latency_ms: int | None = None
    http_error: str | None = None
    timestamp: datetime


class RunCheck(BaseModel):
    """Seed 001 POST …/check: check the service from the hub now."""

    model_config = ConfigDict(frozen=True)

    workspace_id: str
    service_id: str


class CheckAnswer(BaseModel):
    """The new result and the service's health after it."""

    model_config = ConfigDict(frozen=True)

    diagnostic: Diagnostic
    health: ServiceHealth


class HistoryQuery(BaseModel):
    """Seed 001 GET …/diagnostics: newest first."""

    model_config = ConfigDict(frozen=True)

    workspace_id: str
    service_id: str
    limit: int = Field(default=HISTORY_DEFAULT, ge=1, le=HISTORY_RETENTION)


class DiagnosticList(BaseModel):
    """Results, newest first."""

    model_config = ConfigDict(frozen=True)

    diagnostics: list[Diagnostic]


class RunReach(BaseModel):
    """Seed 001 POST …/reach: ask `source_agent_id` to check the service from its network."""

    model_config = ConfigDict(frozen=True)

    workspace_id: str
    service_id: str
    source_agent_id: UUID
    mode: ReachMode = ReachMode.TCP
    timeout_ms: int = Field(
        default=REACH_TIMEOUT_MS_DEFAULT, ge=REACH_TIMEOUT_MS_MIN, le=REACH_TIMEOUT_MS_MAX
    )


class ReachSession(BaseModel):
    """One reach check as recorded: who asked which agent, and how it ended."""

    model_config = ConfigDict(frozen=True)

    id: str  # "sess_<hex>"
    service_id: str
    source_agent_id: UUID
    source_agent: str
    mode: ReachMode
    outcome: SessionOutcome
    diagnostic_id: str | None = None
    # Why there is no result: the agent refused the request (e.g. its --allow list) or none
    # came in time.
    error: str | None = None
    started_at: datetime
    ended_at: datetime


class ReachAnswer(BaseModel):
    """The agent's result (None when it did not answer in time) and the session."""

    model_config = ConfigDict(frozen=True)

    diagnostic: Diagnostic | None
    session: ReachSession


class SessionsQuery(BaseModel):
    """Reach sessions of a service, newest first."""

    model_config = ConfigDict(frozen=True)

    workspace_id: str
    service_id: str
    limit: int = Field(default=SESSIONS_DEFAULT, ge=1, le=HISTORY_RETENTION)


class SessionList(BaseModel):
    """Sessions, newest first."""

    model_config = ConfigDict(frozen=True)

    sessions: list[ReachSession]


class ReachRequestBody(BaseModel):
    """Hub → agent (`HubKind.REACH_REQUEST`): connect to the service's target from here."""

    model_config = ConfigDict(frozen=True)

    check_id: str = Field(min_length=1, max_length=100)
    service_id: str
    target_host: str = Field(max_length=253)
    target_port: int = Field(ge=1, le=65535)
    mode: ReachMode
    timeout_ms: int = Field(ge=REACH_TIMEOUT_MS_MIN, le=REACH_TIMEOUT_MS_MAX)
    # For mode http: the service is HTTPS (handshake TLS first).
    tls_for_http: bool = False


class ReachResultBody(BaseModel):
    """Agent → hub (`reach.result`): what the agent's probe found."""

    model_config = ConfigDict(frozen=True)

    check_id: str = Field(min_length=1, max_length=100)
    tcp_status: str = Field(max_length=20)
    tcp_latency_ms: int | None = None
    tcp_error: str | None = Field(default=None, max_length=500)
    tls_status: str = Field(max_length=20)
    tls_error: str | None = Field(default=None, max_length=500)
    cert_expires_at: datetime | None = None
    http_status: str = Field(max_length=20)
    http_status_code: int | None = None
    http_latency_ms: int | None = None
    http_error: str | None = Field(default=None, max_length=500)


class SchedulerStatsQuery(BaseModel):
    """Ask the periodic scheduler how it keeps up (operators, `make bench`)."""

    model_config = ConfigDict(frozen=True)


class SchedulerStats(BaseModel):
    """Periodic checks of one diagnostics replica since it started."""

    model_config = ConfigDict(frozen=True)

    running: bool
    interval_seconds: float
    services: int
    checks_done: int
    # The longest a check started after it was due.
    late_seconds_max: float
    latency_ms_p50: float | None = None
    latency_ms_p99: float | None = None
