"""Who the agent runs as: the stored identity, a seed 000 one given on the command line, or a
fresh seed 003 enrollment (the one-time token is needed only then)."""

from __future__ import annotations

import logging

from agentplane.agent.metrics import host_facts
from agentplane.agent.state import Identity, StateDir
from agentplane.sdk import AsyncClient

log = logging.getLogger("agentplane.agent")


class NoIdentity(Exception):
    """No stored identity and nothing to enroll with."""


async def obtain_identity(
    state: StateDir,
    server: str | None,
    enrollment_token: str | None,
    agent_id: str | None,
    token: str | None,
    version: str,
    registration_token: str | None = None,
    name: str | None = None,
    capabilities: list[str] | None = None,
) -> Identity:
    if agent_id and token:
        if not server:
            raise NoIdentity("--server is required with --agent-id and --token")
        identity = Identity("v1", agent_id, token, server.rstrip("/"))
        state.save_identity(identity)
        return identity
    stored = state.load_identity()
    if stored is not None:
        if server and server.rstrip("/") != stored.server_url:
            # The identity belongs to the server that issued it; a different URL is the same
            # control plane reached another way (a new address), so follow the operator.
            stored = Identity(
                stored.dialect, stored.agent_id, stored.credential, server.rstrip("/"),
                stored.public_key,
            )  # fmt: skip
            state.save_identity(stored)
        log.info("using the stored identity of agent %s", stored.agent_id)
        return stored
    if server and registration_token:
        return await _register(state, server, registration_token, version, name, capabilities)
    if not (server and enrollment_token):
        raise NoIdentity(
            f"no identity in {state.path}: enroll with --server and --enrollment-token "
            "(or register with --registration-token)"
        )
    async with AsyncClient(server, timeout=15.0) as client:
        enrolled = await client.device.enroll(
            token=enrollment_token,
            agent_version=version,
            idempotency_key=state.enrollment_key(),
            **host_facts(),
        )
    identity = Identity(
        "device", str(enrolled.agent_id), enrolled.api_key, server.rstrip("/"), enrolled.public_key
    )
    # Persist before first use: a crash right after enrollment must not lose the key.
    state.save_identity(identity)
    state.forget_enrollment_key()
    log.info("enrolled as agent %s", identity.agent_id)
    return identity


async def _register(
    state: StateDir,
    server: str,
    registration_token: str,
    version: str,
    name: str | None,
    capabilities: list[str] | None,
) -> Identity:
    """Seed 002 registration with a one-time token; the agent goes on with its JWT (the
    certificate and its key, shown once, are not kept: this agent speaks bearer only)."""
    async with AsyncClient(server, timeout=15.0) as client:
        registered = await client.orchestrator.register(
            registration_token,
            name or f"agent-{host_facts()['hostname']}"[:100],
            version,
            capabilities or [],
        )
    identity = Identity(
        "orchestrator", str(registered.agent_id), registered.token, server.rstrip("/")
    )
    state.save_identity(identity)
    log.info("registered as orchestrator agent %s", identity.agent_id)
    return identity
