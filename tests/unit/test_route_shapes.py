"""The routers' shape check (gateway/route_shapes.py) never changes what a request resolves to.

Every path of every gateway route, its parameters filled with sample values and with every
literal segment of the app (so `/v1/agents/{agent_id}` is also tried as `/v1/agents/online`),
with and without a trailing slash or a final newline, under an empty and a non-empty root
path, for each method: the app's route loop with the check picks the same route and match
as without it.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.routing import APIRoute, APIWebSocketRoute, _IncludedRouter
from starlette.routing import Match

from agentplane.gateway import route_shapes
from agentplane.gateway.app import create_app
from agentplane.settings import GatewaySettings

# The methods the gateway's routes use (another method resolves as any one they do not).
KINDS = [("http", m) for m in ("GET", "POST", "PUT", "PATCH", "DELETE")] + [("websocket", "GET")]


def _templates(app: Any) -> set[str]:
    found: set[str] = set()
    for route in app.router.routes:
        inner = route.original_router.routes if isinstance(route, _IncludedRouter) else [route]
        found.update(r.path for r in inner if isinstance(r, APIRoute | APIWebSocketRoute))
    return found


def _resolve(app: Any, scope: dict[str, Any], shaped: bool) -> tuple[str, str]:
    """(match, route name) as the app's route loop decides, with or without the check."""
    partial = ("NONE", "")
    for route in app.router.routes:
        matches = route.matches if shaped else type(route).matches.__get__(route)
        match, _ = matches(dict(scope))
        if match == Match.NONE:
            continue
        name = getattr(route, "name", "")
        if isinstance(route, _IncludedRouter):
            _, _, inner, _ = route._match(dict(scope))
            name = getattr(inner, "name", "")
        if match == Match.FULL:
            return "FULL", name
        if partial[0] == "NONE":
            partial = ("PARTIAL", name)
    return partial


@pytest.fixture(scope="module")
def app() -> Any:
    return create_app(GatewaySettings())


def test_every_router_of_the_gateway_gets_the_check(app: Any) -> None:
    routers = [r for r in app.router.routes if isinstance(r, _IncludedRouter)]
    # All but the first (the health checks', see the module).
    assert len(routers) > 10 and all("matches" in vars(r) for r in routers[1:])
    assert "matches" not in vars(routers[0])


def test_resolution_unchanged(app: Any) -> None:
    templates = _templates(app)
    literals = {s for t in templates for s in t.split("/") if s and "{" not in s}
    fills = sorted(literals | {"x1", "0b0e0b0e-0000-4000-8000-000000000000", "42", "a\n"})
    paths: set[tuple[str, str]] = set()
    for template in templates:
        for fill in fills:
            path = re.sub(r"\{[^}]+\}", fill, template)
            variants = {path, path + "/", path.rstrip("/") or "/", path + "\n"}
            paths.update(("", p) for p in variants)
            paths.add(("/prefix", path))
    checked = 0
    for root, path in sorted(paths):
        for kind, method in KINDS:
            scope = {"type": kind, "method": method, "path": root + path, "root_path": root,
                     "headers": [], "query_string": b""}  # fmt: skip
            assert _resolve(app, scope, True) == _resolve(app, scope, False), scope
            checked += 1
    assert checked > 10_000


def test_a_registration_skips_the_routers_before_its_own(app: Any) -> None:
    routers = [r for r in app.router.routes if isinstance(r, _IncludedRouter)]
    skipped = [
        r.original_router.routes[0].path
        for r in routers[1:]
        if not route_shapes.paths_pattern(r).match("/v1/agents/register")  # type: ignore[union-attr]
    ]
    assert "/v1/agents/{agent_id}/messages/send" in skipped
    assert "/v1/agents/provision" not in skipped  # its own router


def test_shapes() -> None:
    pattern = route_shapes.shape_pattern("/v1/agents/{agent_id}/messages")
    assert pattern == "/v1/agents/[^/]*/messages"
    assert route_shapes.shape_pattern("/v1/agents/{n:int}") == "/v1/agents/[^/]*"
    assert route_shapes.shape_pattern("/files/{rest:path}") is None
    assert route_shapes.shape_pattern("/v1/{name}.json") is None
