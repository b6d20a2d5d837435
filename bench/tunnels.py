"""Tunnels: visitor → edge → agent → target against the same target direct, in the same run.

1. Throughput: a 256 MB download from `python -m http.server` (it serves with sendfile)
   through the tunnel port ÷ the same download direct (best of 5 each, alternating: on a
   shared 2-core machine a four-process chain suffers more from others' load); target
   ≥ 0.5. With the CPU time each process spent per GB (edge, agent, target, client): where
   the cycles go.
2. 100 concurrent connections (64 KB each way, echo with half-close): all complete.
3. New-connection latency: connect, send one byte, receive it, close — sequentially, through
   the tunnel and direct; target p99 ≤ 20 ms over direct.

Measured for both kinds of data connection: plain TCP on loopback (the default when the agent
is on the edge's host) and TLS with the internal CA (`AGENTPLANE_EDGE_DATA_TLS=always`, the
form every remote agent uses).

    .venv/bin/python -m bench.tunnels [--megabytes 256] [--connects 300]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from agentplane.testing.plugin import create_workspace
from agentplane.testing.system import RunningSystem, agentplane_command
from agentplane.testing.tunnel_routes import RoutesFeed
from agentplane.testing.tunnel_targets import EchoServer, HttpTarget, cpu_seconds, exchange

MB = 1024 * 1024
ROUNDS = 5


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def download(port: int, path: str) -> tuple[int, float]:
    """(bytes, seconds) of one HTTP/1.0 GET read with a bare socket (as curl would)."""
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        started = time.perf_counter()
        sock.sendall(f"GET /{path} HTTP/1.0\r\nHost: bench\r\n\r\n".encode())
        buf = bytearray(MB)
        total = 0
        while n := sock.recv_into(buf):
            total += n
        return total, time.perf_counter() - started


def throughput(direct: int, tunnel: int, size: int, pids: dict[str, int]) -> dict[str, float]:
    best = {"direct": 0.0, "tunnel": 0.0}
    cpu: dict[str, float] = {}
    for _ in range(ROUNDS):
        for name, port in (("direct", direct), ("tunnel", tunnel)):
            before = {p: cpu_seconds(pid) for p, pid in pids.items()}
            got, seconds = download(port, "blob.bin")
            assert got >= size, f"{name} download short: {got} of {size}"
            rate = got / seconds / 1e9
            if name == "tunnel" and rate > best["tunnel"]:
                gigabytes = got / 1e9
                cpu = {
                    f"cpu_s_per_gb_{p}": round((cpu_seconds(pid) - before[p]) / gigabytes, 3)
                    for p, pid in pids.items()
                }
            best[name] = max(best[name], rate)
    return {
        "direct_gb_s": round(best["direct"], 3),
        "tunnel_gb_s": round(best["tunnel"], 3),
        "download_ratio": round(best["tunnel"] / best["direct"], 3),
        **cpu,
    }


def concurrent(port: int, count: int = 100) -> dict[str, float]:
    payloads = [os.urandom(64 * 1024 + i) for i in range(count)]
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=count) as pool:
        answers = list(pool.map(lambda p: exchange(port, p, timeout=60), payloads))
    seconds = time.perf_counter() - started
    complete = sum(a == p + b"BYE\n" for a, p in zip(answers, payloads, strict=True))
    return {"concurrent_connections": count, "concurrent_complete": complete,
            "concurrent_seconds": round(seconds, 3)}  # fmt: skip


def connect_latency(port: int, count: int) -> list[float]:
    times = []
    for _ in range(count):
        started = time.perf_counter()
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.sendall(b"x")
            assert sock.recv(1) == b"x"
        times.append((time.perf_counter() - started) * 1000)
    return times


def latency(direct: int, tunnel: int, count: int) -> dict[str, float]:
    connect_latency(tunnel, 20)  # warm-up: imports, TLS contexts, first routes
    plain = connect_latency(direct, count)
    through = connect_latency(tunnel, count)
    return {
        "connect_direct_p50_ms": round(_p(plain, 0.5), 2),
        "connect_direct_p99_ms": round(_p(plain, 0.99), 2),
        "connect_tunnel_p50_ms": round(_p(through, 0.5), 2),
        "connect_tunnel_p99_ms": round(_p(through, 0.99), 2),
        "connect_p99_over_direct_ms": round(_p(through, 0.99) - _p(plain, 0.99), 2),
    }


def wait_for(check: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise TimeoutError("the tunnel did not come up")


def measure(tls: bool, files: Path, size: int, connects: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            "AGENTPLANE_LOG_LEVEL": "WARNING",
            "AGENTPLANE_EDGE_DATA_TLS": "always" if tls else "off-loopback",
            "AGENTPLANE_EDGE_ROUTES_REFRESH_SECONDS": "1",
        }
        system = RunningSystem(Path(tmp) / "data", env).start()
        web, echo = HttpTarget(files), EchoServer()
        agent = feed = None
        try:
            with httpx.Client(base_url=system.base_url, timeout=30) as client:
                key = create_workspace(client, system.admin_token, tier="enterprise")["apiKey"]
                provisioned = client.post(
                    "/v1/agents/provision", json={"clientType": "cursor"},
                    headers={"x-api-key": key},
                ).json()  # fmt: skip
            feed = RoutesFeed(system, key)
            agent = subprocess.Popen(
                [*agentplane_command(), "agent", "run", "--state-dir", str(Path(tmp) / "agent"),
                 "--server", system.base_url, "--agent-id", provisioned["agentId"],
                 "--token", provisioned["token"], "--nats-url", system.nats_url,
                 "--allow", f"127.0.0.1:{web.port}", "--allow", f"127.0.0.1:{echo.port}"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            web_route = feed.add(provisioned["agentId"], web.port)
            echo_route = feed.add(provisioned["agentId"], echo.port)
            wait_for(lambda: exchange(echo_route.tunnel_port, b"up", 5) == b"upBYE\n", 60)
            pids = {
                "edge": system.pid_of("edge"),
                "agent": agent.pid,
                "target": web.proc.pid,
                "client": os.getpid(),
            }
            results = throughput(web.port, web_route.tunnel_port, size, pids)
            results |= concurrent(echo_route.tunnel_port)
            results |= latency(echo.port, echo_route.tunnel_port, connects)
            return results
        finally:
            if agent is not None:
                agent.terminate()
                agent.wait(10)
            if feed is not None:
                feed.close()
            web.close()
            echo.close()
            system.stop()


def run(megabytes: int = 256, connects: int = 300) -> dict[str, Any]:
    size = megabytes * MB
    with tempfile.TemporaryDirectory() as files:
        with open(Path(files) / "blob.bin", "wb") as blob:
            for _ in range(megabytes):
                blob.write(os.urandom(MB))
        results: dict[str, Any] = {"tunnel_download_mb": megabytes}
        for name, tls in (("tunnel", False), ("tunnel_tls", True)):
            measured = measure(tls, Path(files), size, connects)
            results |= {f"{name}_{key}": value for key, value in measured.items()}
        return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=256)
    parser.add_argument("--connects", type=int, default=300)
    args = parser.parse_args()
    print(json.dumps(run(args.megabytes, args.connects)))
