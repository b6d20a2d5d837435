"""A recorder standing in for the channel's publish, and a real local HTTP server for `http`
tasks (fixtures of the agent tests)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from pydantic import BaseModel


class Published:
    """What the agent published, by channel kind (the subject's last tokens)."""

    def __init__(self) -> None:
        self.items: list[tuple[str, BaseModel]] = []

    async def __call__(self, kind: str, model: BaseModel) -> None:
        self.items.append((kind, model))

    def of(self, kind: str) -> list[Any]:
        return [m for k, m in self.items if k == kind]


@pytest.fixture
def published() -> Published:
    return Published()


class _Handler(BaseHTTPRequestHandler):
    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        status = 404 if self.path.startswith("/missing") else 200
        payload = json.dumps(
            {"method": self.command, "path": self.path, "body": body,
             "x_test": self.headers.get("X-Test")}
        ).encode()  # fmt: skip
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = _answer

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def http_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
