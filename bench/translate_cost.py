"""Per-event cost of publishing an integration event untyped vs through a translator.

.venv/bin/python bench/translate_cost.py
"""

from __future__ import annotations

import timeit
from datetime import UTC, datetime
from uuid import uuid4

from agentplane.eventstore.integration import to_integration
from agentplane.registry.domain.agent import Agent
from agentplane.registry.translate import TRANSLATOR

N = 20_000


def main() -> None:
    now = datetime.now(UTC)
    event = Agent.Registered(
        originator_id=uuid4(), originator_version=1, timestamp=now, originator_topic="x",
        workspace_id="ws_1", name="a", label=None, token_hash="h", token_prefix="agent_tok_x",
        token_expires_at=now,
    )  # fmt: skip
    for label, translator in (("untyped", None), ("typed", TRANSLATOR)):
        best = min(
            timeit.repeat(
                lambda t=translator: to_integration("registry", 1, event, t).model_dump_json(),
                number=N,
                repeat=5,
            )
        )
        print(f"{label}: {best / N * 1e6:.1f} us per event (best of 5 x {N})")


if __name__ == "__main__":
    main()
