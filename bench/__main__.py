"""`make bench`: run every benchmark and print one JSON line of results."""

from __future__ import annotations

import json

from bench import (
    agent_channel,
    diagnostics,
    heartbeat,
    list_100k,
    messages,
    register_storm,
    registrations,
    tunnels,
)


def main() -> None:
    results: dict[str, object] = {}
    results.update(registrations.run())
    results.update(register_storm.run())
    results.update(list_100k.run())
    results.update(heartbeat.run())
    results.update(agent_channel.run())
    results.update(messages.run())
    results.update(tunnels.run())
    results.update(diagnostics.run())
    print(json.dumps(results))


if __name__ == "__main__":
    main()
