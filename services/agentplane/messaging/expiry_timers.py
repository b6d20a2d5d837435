"""Expiry as timers: a heap of (when, id), so the expiry loop touches only what is due."""

from __future__ import annotations

import heapq
import threading
from datetime import datetime


class ExpiryTimers:
    """When each open item (command, message) expires; ids are public ids.

    Per process: a replica arms timers for what it recorded and, at start, for everything
    open in its view (another replica's recent items expire there, or at the next start).
    """

    def __init__(self) -> None:
        self._heap: list[tuple[datetime, str]] = []
        self._lock = threading.Lock()

    def add(self, item_id: str, expires_at: datetime) -> None:
        with self._lock:
            heapq.heappush(self._heap, (expires_at, item_id))

    def due(self, now: datetime, limit: int) -> list[str]:
        with self._lock:
            taken: list[str] = []
            while self._heap and self._heap[0][0] <= now and len(taken) < limit:
                taken.append(heapq.heappop(self._heap)[1])
            return taken

    def __len__(self) -> int:
        return len(self._heap)
