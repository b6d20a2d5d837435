"""Operator endpoints (DESIGN §1): workspaces, one-time tokens, releases, key rotation, webhooks."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import Field

from agentplane.contracts.agents import EnrollmentKind
from agentplane.contracts.device import SemVer, Sha256Hex
from agentplane.contracts.http.base import CamelModel
from agentplane.contracts.workspaces import Tier

# The request body of `POST /v1/admin/workspaces` is `contracts.workspaces.CreateWorkspace`.


class NewWorkspace(CamelModel):
    """`POST /v1/admin/workspaces` → the workspace and its API key (shown once)."""

    workspace_id: str
    workspace_name: str
    tier: Tier
    api_key: str


class EnrollmentTokenBody(CamelModel):
    """`POST /v1/enrollment-tokens`: a single-use token for seed 002 or seed 003."""

    kind: EnrollmentKind
    ttl_seconds: int = Field(default=86400, ge=60, le=30 * 86400)


class EnrollmentToken(CamelModel):
    """A single-use registration or enrollment token and when it expires."""

    token: str
    kind: EnrollmentKind
    expires_at: datetime


class ReleaseBody(CamelModel):
    """`POST /v1/agent-releases`: the server signs the release with its Ed25519 key."""

    version: SemVer
    url: str = Field(min_length=1, max_length=2048)
    sha256: Sha256Hex


class PublishedRelease(CamelModel):
    """A signed release: base64 Ed25519 `signature` over `signed_payload`."""

    version: str
    url: str
    sha256: str
    signature: str
    signed_payload: str
    published_at: datetime


class KeyRotation(CamelModel):
    """`POST /v1/agents/{id}/api-key/rotate` → 202: the next device heartbeat carries the key."""

    success: bool
    agent_id: UUID
    status: str
    requested_at: datetime
    delivered_at: datetime | None = None


class WebhookBody(CamelModel):
    """`POST /v1/webhooks`: where lifecycle events go (Standard Webhooks signatures)."""

    url: str = Field(min_length=1, max_length=2048)
    events: list[str] = Field(default_factory=list, max_length=100)
    description: str | None = Field(default=None, max_length=500)


class Webhook(CamelModel):
    """A webhook subscription; `secret` only in the answer that creates it."""

    id: str
    url: str
    events: list[str] = Field(default_factory=list)
    description: str | None = None
    secret: str | None = None
    created_at: datetime | None = None


class WebhookList(CamelModel):
    """`GET /v1/webhooks`."""

    webhooks: list[Webhook]
    next_cursor: str | None = None


class WebhookAttempt(CamelModel):
    """One HTTP attempt of a delivery: the receiver's status code, or why there was none."""

    attempt: int
    at: datetime
    status_code: int | None = None
    error: str | None = None


class WebhookDelivery(CamelModel):
    """One event on its way to a webhook: `status` pending → succeeded | failed | cancelled;
    `attempt` attempts so far, `status_code` the last one's, `next_attempt_at` the next retry."""

    id: str
    event: str | None = None
    status: str | None = None
    status_code: int | None = None
    attempt: int | None = None
    delivered_at: datetime | None = None
    payload: dict[str, Any] | None = None
    agent_id: UUID | None = None
    created_at: datetime | None = None
    next_attempt_at: datetime | None = None
    finished_at: datetime | None = None
    attempts: list[WebhookAttempt] = Field(default_factory=list)


class WebhookDeliveries(CamelModel):
    """`GET /v1/webhooks/{id}/deliveries`."""

    deliveries: list[WebhookDelivery]
    next_cursor: str | None = None
