"""An agent authenticated by its own credential, whatever its dialect (the agent channel).

Headers: `X-Agent-ID: <agent id>` with the credential in `X-Agent-Key` or as
`Authorization: Bearer <credential>` — the seed 000 agent token, the seed 003 device API key,
or the seed 002 JWT. The registry runs the same checks as for the agent's NATS connection
(registry/nats_auth/admission.py: token hash, device key with its rotation grace, JWT signature and
expiry, revocation), so one rule admits an agent everywhere. `AgentIdentity` is the FastAPI
dependency; WebSocket handlers call `admit_agent` themselves (they answer with close codes).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated
from uuid import UUID

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from agentplane.bus.requests import BusClient
from agentplane.contracts.channel import AdmitChannelAgent, ChannelAdmission
from agentplane.contracts.errors import unauthorized
from agentplane.contracts.subjects import Registry
from agentplane.gateway.auth import app_bus
from agentplane.gateway.openapi import declares
from agentplane.gateway.rate_limits import enforce_agent_limit

MAX_CREDENTIAL_LENGTH = 4096
MISSING = "Missing agent credentials: X-Agent-ID and X-Agent-Key (or Authorization: Bearer)"
INVALID = "Invalid agent credentials"


def credential_of(headers: Mapping[str, str]) -> tuple[UUID, str]:
    """The agent id and credential a request presents; 401 when either is missing."""
    raw_id = headers.get("x-agent-id", "").strip()
    credential = headers.get("x-agent-key", "").strip()
    if not credential:
        scheme, _, token = headers.get("authorization", "").strip().partition(" ")
        if scheme.lower() == "bearer":
            credential = token.strip()
    if not raw_id or not credential:
        raise unauthorized(MISSING)
    if len(credential) > MAX_CREDENTIAL_LENGTH:
        raise unauthorized(INVALID)
    try:
        return UUID(raw_id), credential
    except ValueError:
        raise unauthorized(INVALID) from None


async def admit_agent(bus: BusClient, headers: Mapping[str, str]) -> ChannelAdmission:
    agent_id, credential = credential_of(headers)
    data = await bus.request(
        Registry.CHANNEL_ADMIT, AdmitChannelAgent(agent_id=agent_id, credential=credential)
    )
    return ChannelAdmission.model_validate(data)


# Declared for OpenAPI only (auto_error off): `credential_of` reads the headers and answers
# 401 in this API's error shape.
AGENT_ID_HEADER = APIKeyHeader(
    name="X-Agent-ID", auto_error=False, scheme_name="AgentId", description="The agent's id"
)
AGENT_KEY_HEADER = APIKeyHeader(
    name="X-Agent-Key",
    auto_error=False,
    scheme_name="AgentKey",
    description="The agent's credential (or send it as Authorization: Bearer)",
)
AGENT_BEARER = HTTPBearer(
    auto_error=False,
    scheme_name="AgentBearer",
    description="Seed 000 agent token, seed 003 device API key or seed 002 JWT",
)


@declares(
    {
        401: "Missing or invalid agent credentials",
        403: "The agent may not use this",
        429: "The agent's own limit is spent; X-RateLimit-Reset and Retry-After say when",
    }
)
async def agent_identity(
    request: Request,
    _agent_id: Annotated[str | None, Security(AGENT_ID_HEADER)],
    _key: Annotated[str | None, Security(AGENT_KEY_HEADER)],
    _bearer: Annotated[HTTPAuthorizationCredentials | None, Security(AGENT_BEARER)],
) -> ChannelAdmission:
    admission = await admit_agent(app_bus(request), request.headers)
    enforce_agent_limit(request, admission.agent_id)
    return admission


AgentIdentity = Annotated[ChannelAdmission, Depends(agent_identity)]
