"""Seed 003, the device agent's side (`/api/agent/…`): enroll, heartbeat, tasks, updates."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agentplane.contracts.http.device import (
    AgentUpdate,
    DeviceEnrollment,
    DeviceHeartbeatAck,
    DeviceTask,
    EnrollBody,
    HeartbeatBody,
    TaskResultBody,
)
from agentplane.sdk.calls import Auth, Call, data, optional_data, path, raw
from agentplane.sdk.credentials import DeviceCredentials
from agentplane.sdk.resource import Resource
from agentplane.sdk.synced import synced


def _tasks(body: Any) -> list[DeviceTask]:
    items = body.get("data") if isinstance(body, dict) else body
    if isinstance(items, dict):
        items = items.get("tasks", [])
    return [DeviceTask.model_validate(t) for t in items or []]


class AsyncDevice(Resource):
    """Endpoints a device agent calls with its X-Agent-Key / X-Agent-ID headers."""

    async def enroll(
        self,
        token: str,
        hostname: str,
        os: str,
        arch: str,
        agent_version: str,
        *,
        idempotency_key: str | None = None,
    ) -> DeviceEnrollment:
        """Trade a one-time enrollment token for an agent id and API key (shown once; with an
        `idempotency_key` a retry whose first answer was lost gets the same identity)."""
        body = EnrollBody(
            token=token, hostname=hostname, os=os, arch=arch, agent_version=agent_version
        )
        return await self._t.send(
            Call(
                "POST",
                "/api/agent/enroll",
                data(DeviceEnrollment),
                body=body,
                auth=Auth.NONE,
                idempotency_key=idempotency_key,
            )
        )

    async def heartbeat(
        self, credentials: DeviceCredentials, body: HeartbeatBody | Mapping[str, Any]
    ) -> DeviceHeartbeatAck:
        """Report status and metrics; `new_api_key` in the answer replaces the agent's key.

        A mapping is sent as given (the server validates it); a model was checked already.
        """
        return await self._t.send(
            Call(
                "POST",
                "/api/agent/heartbeat",
                data(DeviceHeartbeatAck),
                body=body,
                auth=Auth.NONE,
                signer=credentials.headers,
                idempotent=True,
            )
        )

    async def check_update(self, credentials: DeviceCredentials) -> AgentUpdate | None:
        """The signed release to install, or None when the agent is up to date."""
        return await self._t.send(
            Call(
                "GET",
                "/api/agent/update",
                optional_data(AgentUpdate),
                auth=Auth.NONE,
                signer=credentials.headers,
            )
        )

    async def tasks(self, credentials: DeviceCredentials) -> list[DeviceTask]:
        """Pending tasks of this agent."""
        return await self._t.send(
            Call("GET", "/api/agent/tasks", _tasks, auth=Auth.NONE, signer=credentials.headers)
        )

    async def report_result(
        self,
        credentials: DeviceCredentials,
        task_id: str,
        result: TaskResultBody | Mapping[str, Any],
    ) -> Any:
        """Report a task's outcome (with optional `bundle_results`); answers the `data`."""
        return await self._t.send(
            Call(
                "POST",
                path("/api/agent/tasks/{}/result", task_id),
                raw,
                body=result,
                auth=Auth.NONE,
                signer=credentials.headers,
                # Reporting the same result twice records it once.
                idempotent=True,
            )
        )


class Device(Resource):
    """Sync twin of `AsyncDevice`."""

    enroll = synced(AsyncDevice.enroll)
    heartbeat = synced(AsyncDevice.heartbeat)
    check_update = synced(AsyncDevice.check_update)
    tasks = synced(AsyncDevice.tasks)
    report_result = synced(AsyncDevice.report_result)
