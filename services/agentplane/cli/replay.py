"""`agentplane replay --verify`: rebuild every read model from position 0 and compare."""

from __future__ import annotations

import heapq
import tempfile
import time
from pathlib import Path

from agentplane.eventstore.replay import ReplayResult
from agentplane.settings import Settings


def verify_all(settings: Settings, attempts: int = 3) -> list[ReplayResult]:
    """Results per read model; a live view still catching up gets a few more tries."""
    from agentplane.diagnostics import replay as diagnostics
    from agentplane.heartbeat import replay as heartbeat
    from agentplane.lifecycle import replay as lifecycle
    from agentplane.messaging import replay as messaging
    from agentplane.registry import replay as registry
    from agentplane.webhooks import replay as webhooks

    results: list[ReplayResult] = []
    for attempt in range(attempts):
        with tempfile.TemporaryDirectory(prefix="agentplane-replay-") as scratch:
            root = Path(scratch)
            for name in ("registry", "heartbeat", "messaging", "lifecycle"):
                (root / name).mkdir()
            # The order the live consumer sees them in, near enough: by when they happened.
            events = heapq.merge(
                registry.published_events(settings),
                heartbeat.published_events(settings),
                messaging.published_events(settings),
                diagnostics.published_events(settings),
                key=lambda e: (e.occurred_at, e.app, e.position),
            )
            results = [
                registry.verify(settings, root / "registry"),
                heartbeat.verify(settings, root / "heartbeat"),
                messaging.verify(settings, root / "messaging"),
                lifecycle.verify(settings, root / "lifecycle", events),
                webhooks.verify(settings, root),
            ]
        if all(r.identical for r in results) or attempt == attempts - 1:
            return results
        time.sleep(1.0)
    return results
