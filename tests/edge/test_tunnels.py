"""Tunnels for real: the edge of a private system (started like `make run`), the reference
agent as a process, real targets, real TCP bytes. Run twice: data connections over TLS with
the internal CA (`AGENTPLANE_EDGE_DATA_TLS=always`, public HTTPS), and plain on loopback
(the default, public HTTP).
"""

from __future__ import annotations

import os
import socket
import ssl
import struct
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.agent.process import AgentProcess
from tests.nats_auth.agents import seed000_agent

from agentplane.contracts.tunnels import STREAM_MAGIC, TunnelStreamHello
from agentplane.testing.plugin import create_workspace
from agentplane.testing.system import RunningSystem, free_port
from agentplane.testing.tunnel_routes import RoutesFeed
from agentplane.testing.tunnel_targets import GOODBYE, EchoServer, HttpTarget, exchange

pytestmark = pytest.mark.system

DOMAIN = "tunnels.test"


@dataclass
class Setup:
    system: RunningSystem
    feed: RoutesFeed
    agent: AgentProcess
    agent_id: str
    echo: EchoServer
    web: HttpTarget
    files: Path
    public_port: int
    tls: bool
    refused: EchoServer

    def public_url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.public_port}"


def wait_for(check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = check()
            if value:
                return value
        except Exception as exc:  # not yet: the listener or the agent is still coming up
            last = exc
        time.sleep(0.1)
    raise AssertionError(f"{what} not within {timeout}s (last error: {last!r})")


@pytest.fixture(scope="module", params=["tls", "loopback-plain"])
def setup(
    request: pytest.FixtureRequest,
    system_factory: Callable[..., RunningSystem],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Setup]:
    tls = request.param == "tls"
    public_port = free_port()
    env = {
        "AGENTPLANE_EDGE_DATA_TLS": "always" if tls else "off-loopback",
        "AGENTPLANE_EDGE_ROUTES_REFRESH_SECONDS": "1",
        "AGENTPLANE_PUBLIC_HTTP_PORT": str(public_port),
        "AGENTPLANE_PUBLIC_DOMAIN": DOMAIN,
        "AGENTPLANE_PUBLIC_TLS_INTERNAL_CA": "true" if tls else "false",
    }
    system = system_factory(env)
    files = tmp_path_factory.mktemp("files")
    (files / "blob.bin").write_bytes(os.urandom(8 * 1024 * 1024))
    (files / "index.html").write_text("<h1>through the tunnel</h1>")
    echo, refused, web = EchoServer(), EchoServer(), HttpTarget(files)
    with httpx.Client(base_url=system.base_url, timeout=30.0) as http:
        workspace = create_workspace(http, system.admin_token)
        agent_id, token = seed000_agent(http, workspace)
    base = tmp_path_factory.mktemp("agent")
    agent = AgentProcess(base / "state", base / "agent.log")
    allow = ["--allow", f"127.0.0.1:{echo.port}", "--allow", f"127.0.0.1:{web.port}"]
    agent.start("--server", system.base_url, "--agent-id", agent_id, "--token", token,
                "--nats-url", system.nats_url, *allow)  # fmt: skip
    feed = RoutesFeed(system, workspace["apiKey"])
    try:
        yield Setup(system, feed, agent, agent_id, echo, web, files, public_port, tls, refused)
    finally:
        agent.kill()
        feed.close()
        web.close()
        echo.close()
        refused.close()


def open_route(setup: Setup, target_port: int, **options: Any) -> int:
    """A route to the target; its tunnel port once a connection through it is echoed."""
    route = setup.feed.add(setup.agent_id, target_port, **options)
    return route.tunnel_port


def echo_port(setup: Setup) -> int:
    port = open_route(setup, setup.echo.port)
    wait_for(lambda: exchange(port, b"ping", timeout=5) == b"ping" + GOODBYE, 30, "first stream")
    return port


def test_bytes_both_ways_with_half_close(setup: Setup) -> None:
    port = echo_port(setup)
    payload = os.urandom(3 * 1024 * 1024 + 17)
    # The target answers GOODBYE only after it read our EOF: the half-close went through,
    # and its bytes still came back after it.
    assert exchange(port, payload) == payload + GOODBYE


def test_http_download_through_the_tunnel(setup: Setup) -> None:
    port = open_route(setup, setup.web.port)
    url = f"http://127.0.0.1:{port}/blob.bin"
    response = wait_for(lambda: httpx.get(url, timeout=30.0), 30, "download")
    assert response.status_code == 200
    assert response.content == (setup.files / "blob.bin").read_bytes()


def test_100_concurrent_connections_all_complete(setup: Setup) -> None:
    port = echo_port(setup)
    payloads = [os.urandom(64 * 1024 + i) for i in range(100)]
    with ThreadPoolExecutor(max_workers=100) as pool:
        answers = list(pool.map(lambda p: exchange(port, p, timeout=60), payloads))
    assert [a == p + GOODBYE for a, p in zip(answers, payloads, strict=True)] == [True] * 100


def test_visitor_close_reaches_the_target(setup: Setup) -> None:
    port = echo_port(setup)
    ended = setup.echo.ended
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"hello")
        assert sock.recv(5) == b"hello"
    # The visitor's FIN travels through; the target answers and closes its side.
    wait_for(lambda: setup.echo.ended > ended, 10, "target saw the close")


def test_target_outside_the_allow_list_is_never_connected(setup: Setup) -> None:
    port = open_route(setup, setup.refused.port)
    for _ in range(3):
        try:
            received = exchange(port, b"let me in", timeout=10)
        except (ConnectionRefusedError, ConnectionResetError):
            received = b""  # the listener may not be up yet, or the edge reset the visitor
        assert received == b""
        time.sleep(0.5)
    assert setup.refused.accepted == 0
    assert "is not in this agent's --allow list" in setup.agent.log()


def test_a_stream_token_works_once(setup: Setup) -> None:
    port = echo_port(setup)
    setup.feed.watch_inbox(setup.agent_id)
    assert exchange(port, b"spend a token") == b"spend a token" + GOODBYE
    opened = wait_for(lambda: setup.feed.opens, 10, "the tunnel.open seen")[-1]
    setup.feed.stop_watching()
    assert opened.tls is setup.tls and (opened.edge_ca_pem is not None) is setup.tls
    hello = TunnelStreamHello(stream_id=opened.stream_id, stream_token=opened.stream_token)
    body = hello.model_dump_json().encode()
    frame = STREAM_MAGIC + struct.pack(">H", len(body)) + body
    raw = socket.create_connection((opened.edge_host, opened.edge_port), timeout=10)
    if opened.tls:
        assert opened.edge_ca_pem is not None
        context = ssl.create_default_context(cadata=opened.edge_ca_pem)
        conn: socket.socket = context.wrap_socket(raw, server_hostname=opened.edge_host)
    else:
        conn = raw
    with conn:
        conn.sendall(frame + b"replayed payload")
        # The edge closes a data connection whose token was spent, relaying nothing (a reset:
        # it leaves the payload unread).
        try:
            assert conn.recv(100) == b""
        except ConnectionResetError:
            pass


def test_public_http_by_host_header(setup: Setup) -> None:
    name = f"pc-web{uuid.uuid4().hex[:6]}"
    hidden = f"pc-hidden{uuid.uuid4().hex[:6]}"
    setup.feed.add(setup.agent_id, setup.web.port, public_subdomain=name, is_public=True)
    setup.feed.add(setup.agent_id, setup.web.port, public_subdomain=hidden, is_public=False)
    verify: ssl.SSLContext | bool = False
    if setup.tls:
        verify = ssl.create_default_context(cafile=str(setup.system.data_dir / "ca.crt"))

    def get(host: str, server_name: str | None = None) -> httpx.Response:
        # The TLS server name follows the Host header (SNI), as a browser would send it.
        with httpx.Client(verify=verify, timeout=30.0) as client:
            return client.get(
                f"{setup.public_url()}/index.html",
                headers={"Host": host},
                extensions={"sni_hostname": server_name or host},
            )

    served = wait_for(lambda: (r := get(f"{name}.{DOMAIN}")).status_code == 200 and r, 30, "public")
    assert served.text == "<h1>through the tunnel</h1>"
    assert get(f"pc-nobody.{DOMAIN}").status_code == 404
    assert get(f"{hidden}.{DOMAIN}").status_code == 404  # not public: never served
    assert get(f"{name}.elsewhere.test", f"{name}.{DOMAIN}").status_code == 404


def test_removed_route_closes_its_port_and_streams(setup: Setup) -> None:
    route = setup.feed.add(setup.agent_id, setup.echo.port)
    port = route.tunnel_port
    wait_for(lambda: exchange(port, b"ping", timeout=5) == b"ping" + GOODBYE, 30, "stream")
    sock = socket.create_connection(("127.0.0.1", port), timeout=15)
    sock.sendall(b"open")
    assert sock.recv(100) == b"open"
    setup.feed.remove(route)
    try:
        assert sock.recv(100) in (b"", GOODBYE)  # ended by the edge, not by us
    except ConnectionResetError:
        pass
    sock.close()

    def refused() -> bool:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
        except ConnectionRefusedError:
            return True
        return False

    wait_for(refused, 15, "the tunnel port closed")


def test_an_agent_gone_offline_loses_its_streams(setup: Setup) -> None:
    port = echo_port(setup)
    sock = socket.create_connection(("127.0.0.1", port), timeout=15)
    sock.sendall(b"beating?")
    assert sock.recv(100) == b"beating?"
    setup.feed.went_offline(setup.agent_id)  # the heartbeat service's integration event
    try:
        assert sock.recv(100) in (b"", GOODBYE)
    except ConnectionResetError:
        pass
    sock.close()


def test_agent_exit_ends_its_streams(setup: Setup) -> None:
    # Last in the module: the agent does not come back.
    port = echo_port(setup)
    sock = socket.create_connection(("127.0.0.1", port), timeout=15)
    sock.sendall(b"still there?")
    assert sock.recv(100) == b"still there?"
    setup.agent.interrupt()
    try:
        rest = sock.recv(100)
    except ConnectionResetError:
        rest = b""
    assert rest in (b"", GOODBYE)  # closed, not hanging (the socket timeout would raise)
    sock.close()
    # A new visitor is closed at once: the agent is not connected.
    started = time.monotonic()
    assert exchange(port, b"anyone?", timeout=15) == b""
    assert time.monotonic() - started < 10
