"""The edge's open streams, so they can be ended when their agent leaves or their route goes."""

from __future__ import annotations

import threading

from agentplane.contracts.tunnels import TunnelRoute
from agentplane.relay.stream import Stream


class ActiveStreams:
    """Thread-safe: streams report their own end from a relay thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._streams: dict[Stream, TunnelRoute] = {}
        self.opened = 0

    def add(self, stream: Stream, route: TunnelRoute) -> None:
        with self._lock:
            self._streams[stream] = route
            self.opened += 1

    def closed(self, stream: Stream) -> None:
        with self._lock:
            self._streams.pop(stream, None)

    def count(self) -> int:
        with self._lock:
            return len(self._streams)

    def _abort_where(self, keep: dict[Stream, TunnelRoute]) -> int:
        for stream in keep:
            stream.abort()
        return len(keep)

    def abort_agent(self, agent_id: str) -> int:
        with self._lock:
            doomed = {s: r for s, r in self._streams.items() if str(r.agent_id) == agent_id}
        return self._abort_where(doomed)

    def abort_port(self, port: int) -> int:
        with self._lock:
            doomed = {s: r for s, r in self._streams.items() if r.tunnel_port == port}
        return self._abort_where(doomed)

    def abort_all(self) -> int:
        with self._lock:
            doomed = dict(self._streams)
        return self._abort_where(doomed)
