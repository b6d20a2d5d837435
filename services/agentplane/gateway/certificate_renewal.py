"""Certificate renewal for the seed 002 heartbeat response (`certificateRenewal`)."""

from __future__ import annotations

from uuid import UUID

from fastapi import Request

from agentplane.bus.requests import BusClient
from agentplane.contracts.orchestrator import (
    OrchestratorCertificateRenewal,
    RenewOrchestratorCertificate,
)
from agentplane.contracts.subjects import Registry
from agentplane.gateway.client_certificates import verified_client_certificate
from agentplane.gateway.formats import iso_seconds


async def certificate_renewal(
    request: Request, bus: BusClient, agent_id: UUID
) -> dict[str, str | None] | None:
    """`{"cert", "expiresAt"}` when the client certificate of this mTLS request expires within
    the renewal window (the registry issues a new one for the same key and records its
    serial); None when it is not due or the request came without a certificate (plain HTTP)."""
    cert = verified_client_certificate(request)
    if cert is None or cert.pem is None:
        return None
    data = await bus.request(
        Registry.ORCHESTRATOR_RENEW_CERT,
        RenewOrchestratorCertificate(agent_id=agent_id, cert_pem=cert.pem),
    )
    renewal = OrchestratorCertificateRenewal.model_validate(data).renewal
    if renewal is None:
        return None
    return {"cert": renewal.cert, "expiresAt": iso_seconds(renewal.expires_at)}
