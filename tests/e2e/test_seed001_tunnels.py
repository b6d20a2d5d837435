"""Seed 001 services reachable through their `tunnelPort`: registered with
`POST /v1/services/register` exactly as the document's curl example does, exposed by the
reference agent, reached with curl-like requests on 127.0.0.1:<tunnelPort>.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.agent.process import AgentProcess
from tests.nats_auth.agents import seed000_agent

from agentplane.testing.system import RunningSystem
from agentplane.testing.tunnel_targets import GOODBYE, EchoServer, HttpTarget, exchange

pytestmark = pytest.mark.system


def wait_for(check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = check()
            if value:
                return value
        except Exception as exc:  # the edge picks the route up within its refresh
            last = exc
        time.sleep(0.2)
    raise AssertionError(f"{what} not within {timeout}s (last error: {last!r})")


@pytest.fixture(scope="module")
def catalog(system: RunningSystem) -> None:
    paths = httpx.get(f"{system.base_url}/openapi.json", timeout=30).json()["paths"]
    if "/v1/services/register" not in paths:
        pytest.skip("the service catalog (POST /v1/services/register) is not built yet")


@pytest.fixture
def targets(tmp_path: Path) -> Iterator[tuple[EchoServer, HttpTarget, Path]]:
    files = tmp_path / "www"
    files.mkdir()
    (files / "index.html").write_text("<h1>seed 001 through the tunnel</h1>")
    (files / "blob.bin").write_bytes(os.urandom(2 * 1024 * 1024))
    echo, web = EchoServer(), HttpTarget(files)
    yield echo, web, files
    web.close()
    echo.close()


def register(
    http: httpx.Client, ws: dict[str, Any], agent_id: str, name: str, port: int, protocol: str
) -> dict[str, Any]:
    response = http.post(
        "/v1/services/register",
        headers={"x-api-key": ws["apiKey"], "Content-Type": "application/json"},
        json={"agentId": agent_id, "name": name, "targetHost": "127.0.0.1",
              "targetPort": port, "protocol": protocol, "isPublic": False},
    )  # fmt: skip
    assert response.status_code in (200, 201), response.text
    body = response.json()
    assert body["success"] is True
    service: dict[str, Any] = body["service"]
    assert isinstance(service["tunnelPort"], int) and service["protocol"] == protocol
    return service


def test_registered_services_are_reachable_on_their_tunnel_port(
    catalog: None,
    system: RunningSystem,
    http: httpx.Client,
    workspace: dict[str, Any],
    targets: tuple[EchoServer, HttpTarget, Path],
    tmp_path: Path,
) -> None:
    echo, web, files = targets
    agent_id, token = seed000_agent(http, workspace)
    agent = AgentProcess(tmp_path / "state", tmp_path / "agent.log")
    agent.start("--server", system.base_url, "--agent-id", agent_id, "--token", token,
                "--nats-url", system.nats_url, "--allow", f"127.0.0.1:{web.port}",
                "--allow", f"127.0.0.1:{echo.port}")  # fmt: skip
    try:
        site = register(http, workspace, agent_id, "web", web.port, "http")
        raw = register(http, workspace, agent_id, "echo", echo.port, "tcp")

        # curl http://127.0.0.1:<tunnelPort>/index.html
        url = f"http://127.0.0.1:{site['tunnelPort']}"
        page = wait_for(lambda: httpx.get(f"{url}/index.html", timeout=10), 30, "the page")
        assert page.status_code == 200 and page.text == "<h1>seed 001 through the tunnel</h1>"
        blob = httpx.get(f"{url}/blob.bin", timeout=30)
        assert blob.content == (files / "blob.bin").read_bytes()

        # Raw TCP both ways, half-close included.
        payload = os.urandom(256 * 1024)
        assert raw["tunnelPort"] != site["tunnelPort"]
        assert exchange(raw["tunnelPort"], payload) == payload + GOODBYE
    finally:
        agent.kill()
    assert token not in agent.log()
