"""The error body of each dialect, for answers given outside a route (middleware, handlers).

Device agents (seed 003, `/api/agent/…`) get `{"success": false, "error": …}` like every other
answer of their dialect; every other route gets the `Error` schema `{"error", "kind"}`.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.types import Send

DEVICE_PATH_PREFIX = "/api/agent/"


def is_device_path(path: str) -> bool:
    return path.startswith(DEVICE_PATH_PREFIX)


def error_body(
    path: str, message: str, kind: str, details: dict[str, Any] | None = None
) -> dict[str, Any]:
    if is_device_path(path):
        return {"success": False, "error": message}
    body: dict[str, Any] = {"error": message, "kind": kind}
    if details:
        body["details"] = details
    return body


async def send_error(send: Send, path: str, status: int, message: str, kind: str) -> None:
    """A complete JSON error answer on a raw ASGI `send`; the connection then closes."""
    data = json.dumps(error_body(path, message, kind)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(data)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": data})
