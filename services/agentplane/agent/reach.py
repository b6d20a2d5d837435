"""Reach checks: the hub asks this agent to probe a service's target from the agent's own
network (seed 001 `POST /v1/services/{id}/reach`); the result goes back as `reach.result`.

Not durable intent (the hub waits at most the request's timeout), so nothing is written to the
state dir. With an `--allow` list the agent probes only targets it would expose anyway.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from pydantic import BaseModel

from agentplane.contracts.diagnostics import ReachMode, ReachRequestBody, ReachResultBody
from agentplane.contracts.subjects import AgentChannel
from agentplane.probes.connectivity import ProbeTarget, probe

log = logging.getLogger("agentplane.agent.reach")


def refusal(body: ReachRequestBody, allows: Callable[[str, int], bool]) -> str | None:
    if not allows(body.target_host, body.target_port):
        return f"{body.target_host}:{body.target_port} is not in this agent's --allow list"
    return None


async def run_reach(
    body: ReachRequestBody, publish: Callable[[str, BaseModel], Awaitable[None]]
) -> None:
    """Probe the target and publish what was found (within the request's timeout)."""
    target = ProbeTarget(
        connect_host=body.target_host,
        connect_port=body.target_port,
        server_name=body.target_host,
        server_port=body.target_port,
        tls=body.mode in (ReachMode.TLS, ReachMode.HTTP) and _wants_tls(body),
        http=body.mode == ReachMode.HTTP,
    )
    # A little under the hub's wait, so the answer arrives before the hub gives up.
    found = await probe(target, max(0.5, body.timeout_ms / 1000 - 0.3))
    result = ReachResultBody(
        check_id=body.check_id,
        tcp_status=found.tcp_status,
        tcp_latency_ms=found.tcp_latency_ms,
        tcp_error=found.tcp_error,
        tls_status=found.tls_status,
        tls_error=found.tls_error,
        cert_expires_at=found.cert_expires_at,
        http_status=found.http_status,
        http_status_code=found.http_status_code,
        http_latency_ms=found.http_latency_ms,
        http_error=found.http_error,
    )
    log.info("reach %s of %s:%d (%s): %s", body.check_id, body.target_host, body.target_port,
             body.mode.value, found.failure or "OK")  # fmt: skip
    await publish(AgentChannel.REACH_RESULT, result)


def _wants_tls(body: ReachRequestBody) -> bool:
    # `tls` always handshakes; `http` speaks TLS when the hub says the service is HTTPS.
    return body.mode == ReachMode.TLS or body.tls_for_http
