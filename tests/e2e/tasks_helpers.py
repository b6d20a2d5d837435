"""Helpers of the task tests: agents of seeds 002 and 003, the documented calls, secrets."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from agentplane.security import new_secret
from agentplane.testing.secret_scan import TASK_CREDENTIAL_PREFIX, scan_tree

DOC_HEARTBEAT: dict[str, Any] = {
    "status": "healthy",
    "resourceUsage": {"cpu": 15.5, "memory": 45.2, "disk": 60.0},
    "capabilities": ["docker", "compose"],
    "runningTasks": 2,
}
DOC_PAYLOAD = {"image": "myapp", "tag": "v2.3.1", "digest": "sha256:abc123..."}
DOC_COMPLETE = {
    "success": True,
    "result": {"imageId": "sha256:abc123...", "containerId": "container-uuid"},
    "logs": [
        {"timestamp": "2026-01-10T14:23:45Z", "level": "info", "message": "Pulling image..."},
        {"timestamp": "2026-01-10T14:23:50Z", "level": "info",
         "message": "Image pulled successfully"},
    ],
}  # fmt: skip


def key_headers(ws: dict[str, Any]) -> dict[str, str]:
    return {"x-api-key": ws["apiKey"], "Content-Type": "application/json"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


def credentials() -> dict[str, str]:
    """Task credentials shaped like secrets the end-of-suite scan recognises."""
    return {
        "registry.username": "user",
        "registry.password": new_secret(TASK_CREDENTIAL_PREFIX),
    }


def create_task(
    http: httpx.Client, ws: dict[str, Any], agent_id: str, **body: Any
) -> dict[str, Any]:
    document = {"taskType": "docker.pull", "payload": DOC_PAYLOAD, **body}
    response = http.post(f"/api/v1/agents/{agent_id}/tasks", json=document,
                         headers=key_headers(ws))  # fmt: skip
    assert response.status_code == 201, response.text
    return dict(response.json())


def task_state(
    http: httpx.Client, ws: dict[str, Any], agent_id: str, task_id: str
) -> dict[str, Any]:
    response = http.get(f"/api/v1/agents/{agent_id}/tasks/{task_id}", headers=key_headers(ws))
    assert response.status_code == 200, response.text
    return dict(response.json())


def heartbeat(http: httpx.Client, agent_id: str, token: str) -> list[dict[str, Any]]:
    response = http.post(f"/api/v1/agents/{agent_id}/heartbeat", json=DOC_HEARTBEAT,
                         headers=bearer(token))  # fmt: skip
    assert response.status_code == 200, response.text
    return list(response.json()["tasks"])


def wait_for(check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"{what} not within {timeout}s")


def assert_error(response: httpx.Response, status: int, message: str | None = None) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    error = body.get("error")
    assert isinstance(error, str) and error, body
    if message is not None:
        assert error == message, body


def no_secret_rests_in(data_dir: Path, *secrets: str) -> None:
    """No full secret anywhere under the data dir (what the session-end scan checks), and in
    particular none of these."""
    leaks = scan_tree(data_dir)
    assert not leaks, leaks[:5]
    for path in data_dir.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert not any(s.encode() in data for s in secrets), path


def sealed_files(data_dir: Path) -> list[Path]:
    return sorted(data_dir.rglob("task-credentials/*.sealed"))
