"""The sync client mirrors the async one exactly: same resources, same methods, same signatures."""

from __future__ import annotations

import inspect

from agentplane.sdk import AsyncClient, Client
from agentplane.sdk.resource import Resource
from agentplane.sdk.synced import synced


def resources(client: object) -> dict[str, Resource]:
    return {k: v for k, v in vars(client).items() if isinstance(v, Resource)}


def public_methods(cls: type) -> set[str]:
    return {
        name
        for name, value in vars(cls).items()
        if not name.startswith("_")
        and (inspect.iscoroutinefunction(value) or isinstance(value, synced))
    }


def test_every_async_method_has_its_sync_twin() -> None:
    async_side, sync_side = resources(AsyncClient("http://x")), resources(Client("http://x"))
    assert async_side.keys() == sync_side.keys()
    assert set(async_side) == {
        "device",
        "agents",
        "commands",
        "messages",
        "workspaces",
        "enrollment_tokens",
        "releases",
        "channel",
        "orchestrator",
        "tasks",
        "pap",
        "services",
        "webhooks",
        "health",
    }
    for name, resource in async_side.items():
        twin = type(sync_side[name])
        assert public_methods(type(resource)) == public_methods(twin), name
        for method in public_methods(twin):
            wrapped = vars(twin)[method]
            assert wrapped.method is getattr(type(resource), method), f"{name}.{method}"
            bound = getattr(sync_side[name], method)
            assert inspect.signature(bound) == inspect.signature(getattr(resource, method))
