"""Routers skip paths none of their routes can match, by the path's shape.

FastAPI tries the app's routers in order and, inside each, every route's regular expression
(with its own bookkeeping per try: about 1,000 Python calls for a seed 000 registration,
which passes five routers before its own). A route path like `/v1/agents/{agent_id}/messages`
only matches paths of as many segments, with the same literal segments where it has them;
so a router answers "no match" at once to a path whose segments fit no route of its own.
This is only ever a quicker "no": a path that fits some shape goes to FastAPI's own matching,
so what a request resolves to (the route, 405 for a wrong method, the trailing-slash
redirect) is unchanged.

Installed once every router is included (`install`): routes added later would not be seen.
A router with a route whose shape cannot be told this way (a mount, a `{name:path}`
parameter, a parameter inside a segment) is left as it is, and so is the first router: every
request tries it first anyway, and requests to it (the health checks, the cheapest requests
the gateway has) would only pay for the check.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute, APIWebSocketRoute, _IncludedRouter
from starlette._utils import get_route_path  # the path starlette's routes match
from starlette.routing import Match, Route, WebSocketRoute
from starlette.types import Scope

# A whole segment that is one parameter whose convertor never matches "/".
_PARAMETER = re.compile(r"\{[A-Za-z_]\w*(:(str|int|float|uuid))?\}")
_ROUTE_TYPES = (APIRoute, APIWebSocketRoute, Route, WebSocketRoute)


def shape_pattern(path: str) -> str | None:
    """A regular expression for the paths of `path`'s shape: its literal segments as they
    are, any text without "/" for each parameter; None when a segment is neither."""
    segments = []
    for segment in path.split("/"):
        if _PARAMETER.fullmatch(segment):
            segments.append("[^/]*")
        elif "{" in segment or "}" in segment:
            return None
        else:
            segments.append(re.escape(segment))
    return "/".join(segments)


def paths_pattern(router: _IncludedRouter) -> re.Pattern[str] | None:
    """What the paths of an included router's routes can look like, or None if one of its
    routes has no plain shape."""
    if router.include_context.prefix:
        return None
    shapes: list[str] = []
    for route in router.original_router.routes:
        shape = shape_pattern(route.path) if isinstance(route, _ROUTE_TYPES) else None
        if shape is None:
            return None
        shapes.append(shape)
    # "$" as starlette's own expressions end (it also matches before a final newline).
    return re.compile("(?:" + "|".join(dict.fromkeys(shapes)) + ")$")


def _filtered(
    paths: re.Pattern[str], matches: Callable[[Scope], tuple[Match, Scope]]
) -> Callable[[Scope], tuple[Match, Scope]]:
    def shaped_matches(scope: Scope) -> tuple[Match, Scope]:
        if paths.match(get_route_path(scope)) is None:
            return Match.NONE, {}
        return matches(scope)

    return shaped_matches


def install(app: FastAPI) -> int:
    """Give each included router of `app` but the first its shape check; how many got one."""
    routers = [r for r in app.router.routes if isinstance(r, _IncludedRouter)]
    installed = 0
    for router in routers[1:]:
        paths = paths_pattern(router)
        if paths is None:
            continue
        # An instance attribute: the app's route loop calls `route.matches(scope)`.
        instance: Any = router
        instance.matches = _filtered(paths, router.matches)
        installed += 1
    return installed
