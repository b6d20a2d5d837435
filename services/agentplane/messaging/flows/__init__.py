"""Request flows of the messaging service: ask the registry, record through the use cases,
answer, then deliver, notify and wait for publication (the handler table routes to these)."""
