"""A small HTTP/1.1 load generator: keep-alive connections, one request in flight on each.

Python HTTP clients (httpx) cost more per request than the servers measured here, so the
benchmark drives them with prebuilt request bytes and a minimal response parser on uvloop.
Runs as its own process: `python -m bench.http_load <port> <requests.json> <count> <conns>`;
prints `{"per_s": …, "ok": …, "failed": …}`. `requests.json` is a list of
`[method, path, body]` or `[method, path, body, {header: value}]`; the k-th request sent
(over any connection) is `requests[k % len(requests)]`, so with `count <= len(requests)`
each request is sent exactly once (a storm of distinct registrations stays distinct).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

import uvloop


class Connection(asyncio.Protocol):
    """Sends a request, waits for the full response, sends the next."""

    def __init__(self, requests: list[bytes], budget: list[int], done: asyncio.Future[None]):
        self.requests = requests
        self.budget = budget
        self.done = done
        self.buffer = b""
        self.ok = 0
        self.failed = 0
        self.statuses: dict[str, int] = {}
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's TCPTransport
        self.send()

    def send(self) -> None:
        if self.budget[0] <= 0:
            if not self.done.done():
                self.done.set_result(None)
            return
        self.budget[0] -= 1
        assert self.transport is not None
        self.transport.write(self.requests[self.budget[1] % len(self.requests)])
        self.budget[1] += 1

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            head_end = self.buffer.find(b"\r\n\r\n")
            if head_end < 0:
                return
            head = self.buffer[:head_end]
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            end = head_end + 4 + length
            if len(self.buffer) < end:
                return
            status = head[9:12].decode()
            self.statuses[status] = self.statuses.get(status, 0) + 1
            if head[9:10] == b"2":
                self.ok += 1
            else:
                self.failed += 1
            self.buffer = self.buffer[end:]
            self.send()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_result(None)


def build(
    port: int, method: str, path: str, body: str, headers: dict[str, str] | None = None
) -> bytes:
    data = body.encode()
    extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    return (
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{extra}"
        f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n"
    ).encode() + data


async def run(port: int, specs: list[list[str]], count: int, conns: int) -> dict[str, object]:
    loop = asyncio.get_running_loop()
    requests = [build(port, *spec) for spec in specs]
    budget = [count, 0]  # requests left to send, index of the next one
    protocols: list[Connection] = []
    waits = []
    started = time.perf_counter()
    for _ in range(conns):
        done: asyncio.Future[None] = loop.create_future()
        _, protocol = await loop.create_connection(
            lambda done=done: Connection(requests, budget, done), "127.0.0.1", port
        )
        protocols.append(protocol)
        waits.append(done)
    # A connection is done when its budget ran out after a response: nothing in flight.
    await asyncio.gather(*waits)
    elapsed = time.perf_counter() - started
    for p in protocols:
        if p.transport is not None:
            p.transport.close()
    ok = sum(p.ok for p in protocols)
    statuses: dict[str, int] = {}
    for p in protocols:
        for status, n in p.statuses.items():
            statuses[status] = statuses.get(status, 0) + n
    return {"per_s": count / elapsed, "ok": ok, "failed": count - ok, "statuses": statuses}


def main() -> None:
    port, path, count, conns = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    with open(path) as handle:
        specs = json.load(handle)
    print(json.dumps(uvloop.run(run(port, specs, count, conns))))


if __name__ == "__main__":
    main()
