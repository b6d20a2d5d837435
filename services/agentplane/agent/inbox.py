"""Messages other agents sent this agent: one JSON line each in `<state dir>/inbox.jsonl`.

A program next to the agent reads them the way it reads any log (`tail -f`, or line by line).
Each line is written and fsynced before the hub hears the ack, so an acknowledged message is on
disk; a crash between the write and the ack may repeat a line (the hub resends), so readers
dedupe by `id`. The file is 0600 (payloads are the agents' business) and is rotated to
`inbox.jsonl.1` once it passes `MAX_BYTES` (one older file kept).
"""

from __future__ import annotations

import json
import os
import threading
from datetime import UTC, datetime
from pathlib import Path

from agentplane.contracts.channel import MessageBody

INBOX_FILE = "inbox.jsonl"
MAX_BYTES = 16 * 1024 * 1024


def inbox_line(body: MessageBody, received_at: datetime) -> dict[str, object]:
    """The seed 000 inbox fields (as `GET /v1/agents/{id}/messages` names them), plus times."""
    return {
        "id": body.message_id,
        "from": str(body.from_agent_id),
        "channel": body.channel,
        "type": body.type,
        "payload": body.payload,
        "correlationId": body.correlation_id,
        "createdAt": body.created_at.isoformat(),
        "expiresAt": body.expires_at.isoformat(),
        "receivedAt": received_at.isoformat(),
    }


class MessageInbox:
    """Appends received messages to the state dir's inbox file (thread-safe)."""

    def __init__(self, state_dir: Path, max_bytes: int = MAX_BYTES) -> None:
        self.path = state_dir / INBOX_FILE
        self.max_bytes = max_bytes
        self._lock = threading.Lock()

    def append(self, body: MessageBody) -> None:
        line = json.dumps(inbox_line(body, datetime.now(UTC)), separators=(",", ":")) + "\n"
        with self._lock:
            self._rotate_if_full()
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                # O_CREAT's mode is masked by umask and an existing file may be wider.
                os.fchmod(fd, 0o600)
                os.write(fd, line.encode())
                os.fsync(fd)
            finally:
                os.close(fd)

    def _rotate_if_full(self) -> None:
        try:
            if self.path.stat().st_size < self.max_bytes:
                return
        except FileNotFoundError:
            return
        os.replace(self.path, self.path.with_name(INBOX_FILE + ".1"))
